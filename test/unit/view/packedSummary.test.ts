// The host packs every summary on its way (src/summaryWire.ts): the view shows a packed summary exactly as
// the plain one (the same loss value, class table and confusion read-out), and says so when one arrives
// damaged instead of showing a wrong table.
import * as assert from 'node:assert/strict';
import type { PackedClassStats, PackedSummary } from '../../../src/protocol';
import { forView } from '../../../src/sampleWire';
import { setup, SEG, type Harness } from './harness';

describe('view: packed summaries', function () {
  const open: Harness[] = [];
  afterEach(function () {
    for (const h of open.splice(0)) h.close();
  });

  async function shown(packed: boolean): Promise<{ value: string; rows: string[]; confusion: string }> {
    const h = await setup(SEG, {}, false);
    open.push(h);
    const summary = h.host.summary();
    h.view.receive(packed ? forView({ type: 'summary', summary }) : { type: 'summary', summary });
    await h.settle();
    h.$<HTMLDetailsElement>('[data-testid="confusion-matrix"]').open = true;
    h.$('[data-testid="confusion-matrix"]').dispatchEvent(new h.win.Event('toggle') as unknown as Event);
    return {
      value: h.$('[data-testid="loss-value"]').textContent ?? '',
      rows: h.$$('[data-testid="class-table"] tbody tr').map((r) => r.textContent ?? ''),
      confusion: String(h.$$('.cel-cm-canvas').length),
    };
  }

  it('shows what the plain summary shows', async function () {
    const plain = await shown(false);
    const packed = await shown(true);
    assert.ok(/\d/.test(plain.value), `a loss value: ${plain.value}`);
    assert.ok(plain.rows.length > 0, 'class rows');
    assert.deepEqual(packed, plain);
  });

  it('a damaged one is a note, not a table', async function () {
    const h = await setup(SEG, {}, false);
    open.push(h);
    const wire = forView({ type: 'summary', summary: h.host.summary() }) as { type: 'summary'; summary: PackedSummary };
    const p = wire.summary.packed.perClass as PackedClassStats;
    h.view.receive({ ...wire, summary: { ...wire.summary, packed: { ...wire.summary.packed, perClass: { ...p, values: p.values.subarray(1) } } } });
    await h.settle();
    assert.equal(h.$$('[data-testid="class-table"] tbody tr[data-class]').length, 0, 'no class rows');
    assert.match(h.root.textContent ?? '', /arrived damaged/);
  });
});
