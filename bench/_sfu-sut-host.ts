/**
 * Starts bench/_sfu-sut.ts in a worker thread (its thread's CPU time is the figure) or in a forked child process
 * (the whole process's CPU time and resident memory from /proc, as for any other server process, e.g. mediasoup's).
 */
import { fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { Worker } from 'node:worker_threads';
import type { SutConfig, SutMessage } from './_sfu-sut.ts';

export type SutHostKind = 'thread' | 'process';

export interface SutHandle {
  postMessage(m: { type: 'sample' | 'close' }): void;
  on(event: 'message', f: (m: SutMessage) => void): void;
  on(event: 'error', f: (err: Error) => void): void;
  once(event: 'exit', f: () => void): void;
}

export function startSut(config: SutConfig, host: SutHostKind): SutHandle {
  if (host === 'thread') return new Worker(new URL('./_sfu-sut-boot.mjs', import.meta.url), { workerData: config });
  const child = fork(new URL('./_sfu-sut.ts', import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    // Typed arrays (the session keys) cross the IPC channel as they are.
    serialization: 'advanced',
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child.send(config);
  const events = new EventEmitter();
  child.on('message', (m) => events.emit('message', m));
  child.on('error', (err) => events.emit('error', err));
  child.once('exit', () => events.emit('exit'));
  return {
    postMessage: (m) => child.send(m),
    on: (event: string, f: (arg: SutMessage & Error) => void) => void events.on(event, f),
    once: (event, f) => void events.once(event, f),
  };
}
