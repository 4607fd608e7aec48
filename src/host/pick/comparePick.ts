// Compare Losses… pickers: another input for run B, with the inputs of A's shape listed first (only those
// can be compared against one target). Used by the command and by the panel's "Compare with…".
import { isInputCandidate } from '../../kernel/roles';
import { describeEntry, type TensorEntry } from './tensorFiles';
import { browse, item, pickStreaming, scanTensorEntries, type Item } from './tensorPick';

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Run B: an input of the workspace other than A (by its spec), those of A's shape first. Undefined when the
 * user cancelled.
 */
export async function pickInputLike(title: string, a: { readonly name: string; readonly shape: readonly number[]; readonly spec?: string }): Promise<TensorEntry | undefined> {
  const pick = await pickStreaming(
    title,
    `Inputs of ${a.name}'s shape [${a.shape.join(', ')}] first, the others once the workspace is read`,
    async (add, token) => {
      // Rows never move once listed (see pickStreaming), so the others wait until no more of A's shape can come.
      const others: Item[] = [];
      await scanTensorEntries(token, (batch) => {
        const inputs = batch.filter((e) => isInputCandidate(e) && e.spec !== a.spec);
        const same = inputs.filter((e) => sameShape(e.shape, a.shape));
        others.push(...inputs.filter((e) => !sameShape(e.shape, a.shape)).map(item));
        if (same.length) add(same.map((e) => ({ ...item(e), description: `${describeEntry(e)} · same shape` })));
      });
      if (!token.isCancellationRequested) add(others);
    },
  );
  if (!pick) return undefined;
  return pick.browse ? browse('Input B') : pick.entry;
}
