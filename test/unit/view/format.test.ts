// Number formatting agrees with the CLI; weights parse.
import * as assert from 'node:assert/strict';
import { fmt6 as cliFmt6 } from '../../../src/cli/report';
import { classLabel, className, fmt6, fmtCount, fmtPct, fmtSeconds, fmtShape, parseWeights } from '../../../media/view/format';

describe('view: formatting', function () {
  it('fmt6 prints 6 significant digits like the CLI', function () {
    assert.equal(fmt6(0.69314718056), '0.693147');
    assert.equal(fmt6(1.4191234), '1.41912');
    assert.equal(fmt6(2), '2');
    assert.equal(fmt6(123456789), '123457000');
    assert.equal(fmt6(1e-7), '1e-7');
    assert.equal(fmt6(1.23456789e-5), '0.0000123457');
    assert.equal(fmt6(-0.5), '-0.5');
    assert.equal(fmt6(NaN), 'nan');
    assert.equal(fmt6(Infinity), 'inf');
    assert.equal(fmt6(-Infinity), '-inf');
    assert.equal(fmt6(null), '-');
    for (const v of [0, 1 / 3, Math.PI * 1e12, 65187.4123, 4.999999951, -2.5e-30, NaN, Infinity, -Infinity, 1e21, 123.4565]) {
      assert.equal(fmt6(v), cliFmt6(v), String(v));
    }
  });

  it('formats percentages, counts, seconds and shapes', function () {
    assert.equal(fmtPct(0.1234), '12.3%');
    assert.equal(fmtPct(1), '100.0%');
    assert.equal(fmtPct(NaN), '-');
    assert.equal(fmtCount(1234567), '1\u202f234\u202f567');
    assert.equal(fmtCount(12), '12');
    assert.equal(fmtCount(-1000), '-1\u202f000');
    assert.equal(fmtSeconds(0.0421), '42 ms');
    assert.equal(fmtSeconds(3.14159), '3.14 s');
    assert.equal(fmtShape([8, 21, 512, 512]), '[8, 21, 512, 512]');
    assert.equal(fmtShape([]), '[]');
  });

  it('names classes from the summary or by index', function () {
    const names = ['bg', '', 'cat'];
    assert.equal(className(names, 0), 'bg');
    assert.equal(className(names, 1), '1');
    assert.equal(className(names, 7), '7');
    assert.equal(className([], 3), '3');
    assert.equal(classLabel(names, 2), '2 (cat)');
    assert.equal(classLabel(names, 1), '1');
    assert.equal(classLabel(names, -1), '-1');
  });

  it('parses weights "a,b,c"', function () {
    assert.deepEqual(parseWeights('1, 2.5,0.25'), [1, 2.5, 0.25]);
    assert.deepEqual(parseWeights('[1 2 3]'), [1, 2, 3]);
    assert.deepEqual(parseWeights('1e-3,4'), [0.001, 4]);
    assert.equal(parseWeights('   '), null);
    assert.equal(parseWeights('1,x,3'), undefined);
    assert.equal(parseWeights('1,,nan'), undefined);
  });
});
