// Class colours for the label views: the setting, else classes.json's "colors" (src/host/panels/classColors.ts).
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { classColorsFor, colourHex, parseClassColors } from '../../../src/host/panels/classColors';

describe('classColors: colours by class index', () => {
  it('reads "#rrggbb" and [r, g, b] colours from a classes.json object', () => {
    assert.deepEqual(parseClassColors('{"names": ["road", "car"], "colors": ["#804080", [0, 0, 142], "blue"]}'), ['#804080', '#00008e', '']);
    assert.deepEqual(parseClassColors('["road", "car"]'), []);
    assert.deepEqual(parseClassColors('not json'), []);
    assert.equal(colourHex('FF0000'), '#ff0000');
  });

  it('prefers the setting, else classes.json beside the input', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cel-colors-'));
    try {
      fs.writeFileSync(path.join(dir, 'classes.json'), JSON.stringify({ names: ['a', 'b'], colors: ['#010203', '#040506'] }));
      const input = path.join(dir, 'x.npy');
      assert.deepEqual(await classColorsFor(input, []), ['#010203', '#040506']);
      assert.deepEqual(await classColorsFor(input, ['#ffffff']), ['#ffffff']);
      assert.deepEqual(await classColorsFor(path.join(os.tmpdir(), 'nowhere', 'x.npy'), []), []);
      assert.deepEqual(await classColorsFor(null, []), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
