// The run slider (media/view/analysis/runSlider.ts): shown only in a panel whose summary carries the runs view's runs,
// at the run shown, naming it; a change asks the host for that run.
import * as assert from 'node:assert/strict';
import { change, SEG, setup, type Harness } from '../harness';

describe('view: run slider', function () {
  let h: Harness;
  afterEach(function () {
    h?.close();
  });

  it('is hidden without runs, shows the run of the summary, and posts selectRun on change', async function () {
    h = await setup(SEG);
    const slider = h.$<HTMLInputElement>('[data-testid="run-slider"]');
    assert.equal((slider.closest('.cel-run-slider') as HTMLElement).hidden, true, 'a plain panel has none');
    h.view.receive({ type: 'summary', summary: { ...h.host.summary(), runs: { names: ['ep1', 'ep2', 'ep3'], index: 2 } } });
    await h.settle();
    assert.equal((slider.closest('.cel-run-slider') as HTMLElement).hidden, false);
    assert.equal(slider.max, '2');
    assert.equal(slider.value, '2');
    assert.equal(h.$('[data-testid="run-name"]').textContent, 'ep3 (3 of 3)');
    change(h, slider, '0');
    assert.deepEqual(h.posted.at(-1), { type: 'selectRun', index: 0 });
    h.view.receive({ type: 'summary', summary: { ...h.host.summary(), runs: { names: ['ep1', 'ep2', 'ep3'], index: 0 } } });
    await h.settle();
    assert.equal(h.$('[data-testid="run-name"]').textContent, 'ep1 (1 of 3)');
  });
});
