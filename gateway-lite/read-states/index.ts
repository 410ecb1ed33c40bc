/** Read states inside gateway-lite: the LRU + periodic-flush cache in front of storage. */
export { ReadStates, type ReadStatesOptions, type ReadStatesEvents, type FlushReason } from './read-states.ts';
