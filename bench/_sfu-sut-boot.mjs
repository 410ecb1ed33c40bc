// Worker entry: worker threads do not inherit tsx's loader from the CLI, so register it before loading the TypeScript.
import { register } from 'tsx/esm/api';

register();
await import('./_sfu-sut.ts');
