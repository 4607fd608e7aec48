// The seed of the live PyTorch runs (parity.test.ts, engineLive.test.ts): new on every run, so each run
// draws cases no earlier run saw; PARITY_SEED=N reruns one exactly (the titles and failures print it).
import { spawnSync } from 'node:child_process';

const envSeed = process.env.PARITY_SEED;

export const LIVE_SEED = envSeed !== undefined && envSeed !== '' ? Number(envSeed) : Date.now() % 2 ** 31;

export const PYTHON = process.env.PARITY_PYTHON ?? '/usr/bin/python3';

let torchOk: boolean | null = null;

/** Whether PYTHON imports torch and numpy (asked once per process). */
export function torchAvailable(): boolean {
  torchOk ??= spawnSync(PYTHON, ['-c', 'import torch, numpy'], { stdio: 'ignore', timeout: 60_000 }).status === 0;
  return torchOk;
}
