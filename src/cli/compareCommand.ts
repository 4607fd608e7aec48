// `compare INPUT_A INPUT_B TARGET`: placeholder until the comparison lands (DESIGN.md contract).
import { LensError } from '../errors';

export async function runCompare(_argv: readonly string[], _distDir: string, _signal?: AbortSignal): Promise<string> {
  throw new LensError('option', 'compare is not available in this build');
}
