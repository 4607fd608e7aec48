// `eval PRED_DIR LABEL_DIR` and `merge PART.json...`: placeholders until folder evaluation lands (DESIGN.md contract).
import { LensError } from '../errors';

export async function runEval(_argv: readonly string[], _distDir: string, _signal?: AbortSignal): Promise<string> {
  throw new LensError('option', 'eval is not available in this build');
}

export async function runMerge(_argv: readonly string[]): Promise<string> {
  throw new LensError('option', 'merge is not available in this build');
}
