// Focal loss beside cross-entropy: the loss selector and gamma in the options, the focal summary's plain
// cross-entropy, and each class's ceMean in the table.
import * as assert from 'node:assert/strict';
import { fmt6 } from '../../../media/view/format';
import type { ViewSummary } from '../../../src/protocol';
import { change, setup, type Harness } from './harness';

describe('view: focal loss', function () {
  let h: Harness;
  afterEach(function () {
    h?.close();
  });

  it('the loss selector and gamma send setOptions; a focal result shows its cross-entropy and each class\'s', async function () {
    h = await setup();
    const loss = h.$<HTMLSelectElement>('select[name="loss"]');
    assert.deepEqual(Array.from(loss.options).map((o) => o.value), ['ce', 'focal']);
    assert.ok(h.$('input[name="gamma"]').closest('label')?.hidden, 'gamma only for focal');
    assert.equal(h.$$('th[data-key="ceMean"]').length, 0);
    change(h, loss, 'focal');
    assert.deepEqual(h.posted.at(-1), { type: 'setOptions', options: { loss: 'focal', gamma: 2 } });
    await h.settle();
    const s = h.host.summary() as ViewSummary & { ceValue?: number };
    assert.equal(s.options.loss, 'focal');
    assert.match(h.$('.cel-loss-name').textContent ?? '', /^focal loss \(mean\)/);
    assert.equal(h.$('[data-testid="loss-value"]').textContent, fmt6(s.value));
    assert.equal(typeof s.ceValue, 'number');
    assert.equal(h.$('[data-testid="ce-value"]').hidden, false);
    assert.equal(h.$('[data-testid="ce-value"]').textContent, `cross-entropy on the same elements: ${fmt6(s.ceValue)}`);
    assert.notEqual(fmt6(s.ceValue), fmt6(s.value));
    // The class table: Mean CE beside the focal mean.
    assert.equal(h.$$('th[data-key="ceMean"]').length, 1);
    const heads = h.$$('[data-testid="class-table"] thead th').map((th) => th.getAttribute('data-key'));
    assert.equal(heads.indexOf('ceMean'), heads.indexOf('lossMean') + 1);
    const row = h.$('[data-testid="class-table"] tbody tr[data-class="0"]');
    const col = heads.indexOf('ceMean');
    const c0 = s.perClass[0];
    assert.equal(row.children[col].textContent, c0.count ? fmt6(c0.ceMean) : '-');
    // gamma: a valid value is sent with the loss, an invalid one is marked and not sent.
    const gamma = h.$<HTMLInputElement>('input[name="gamma"]');
    assert.equal(gamma.closest('label')?.hidden, false);
    change(h, gamma, '0.5');
    assert.deepEqual(h.posted.at(-1), { type: 'setOptions', options: { loss: 'focal', gamma: 0.5 } });
    await h.settle();
    assert.match(h.$('.cel-meta').textContent ?? '', /gamma 0\.5/);
    const before = h.posted.length;
    change(h, gamma, '-1');
    assert.equal(h.posted.length, before);
    assert.equal(gamma.getAttribute('aria-invalid'), 'true');
    // Back to cross-entropy: no CE column, no CE line.
    change(h, h.$<HTMLSelectElement>('select[name="loss"]'), 'ce');
    await h.settle();
    assert.equal(h.$$('th[data-key="ceMean"]').length, 0);
    assert.ok(h.$('[data-testid="ce-value"]').hidden);
  });
});
