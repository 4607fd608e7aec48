// Per-class table: sorting and CSV export.
import * as assert from 'node:assert/strict';
import type { ClassStats } from '../../../src/kernel/types';
import { classTableCsv, csvField, csvNumber, nextSort, sortClasses } from '../../../media/view/table';

function row(index: number, lossMean: number, count: number, extra: Partial<ClassStats> = {}): ClassStats {
  return { index, count, ignored: 0, lossSum: lossMean * count, lossMean, weight: 1, share: 0.1, accuracy: 0.5, iou: 0.25, predicted: count, ...extra };
}

const rows = [row(0, 0.5, 10), row(1, NaN, 0), row(2, 2, 3), row(3, 0.5, 7), row(4, 1, 1)];
const idx = (r: ClassStats[]): number[] => r.map((x) => x.index);

describe('view: class table sorting', function () {
  it('sorts numbers both ways with NaN always last and ties by class', function () {
    assert.deepEqual(idx(sortClasses(rows, { key: 'lossMean', dir: 'desc' })), [2, 4, 0, 3, 1]);
    assert.deepEqual(idx(sortClasses(rows, { key: 'lossMean', dir: 'asc' })), [0, 3, 4, 2, 1]);
    assert.deepEqual(idx(sortClasses(rows, { key: 'count', dir: 'desc' })), [0, 3, 2, 4, 1]);
  });

  it('sorts by class index or by name', function () {
    assert.deepEqual(idx(sortClasses(rows, { key: 'class', dir: 'desc' })), [4, 3, 2, 1, 0]);
    const names = ['zebra', 'apple', 'Mango', 'banana', 'class 10'];
    assert.deepEqual(idx(sortClasses(rows, { key: 'name', dir: 'asc' }, names)), [1, 3, 4, 2, 0]);
    assert.deepEqual(idx(sortClasses(rows, { key: 'name', dir: 'desc' }, names)), [0, 2, 4, 3, 1]);
  });

  it('does not change the input', function () {
    const copy = [...rows];
    sortClasses(rows, { key: 'lossMean', dir: 'desc' });
    assert.deepEqual(rows, copy);
  });

  it('cycles header clicks', function () {
    assert.deepEqual(nextSort({ key: 'class', dir: 'asc' }, 'lossMean'), { key: 'lossMean', dir: 'desc' });
    assert.deepEqual(nextSort({ key: 'lossMean', dir: 'desc' }, 'lossMean'), { key: 'lossMean', dir: 'asc' });
    assert.deepEqual(nextSort({ key: 'class', dir: 'asc' }, 'class'), { key: 'class', dir: 'desc' });
    assert.deepEqual(nextSort({ key: 'class', dir: 'desc' }, 'class'), { key: 'class', dir: 'asc' });
    assert.deepEqual(nextSort({ key: 'class', dir: 'desc' }, 'class', true), { key: 'name', dir: 'asc' });
    assert.deepEqual(nextSort({ key: 'name', dir: 'asc' }, 'class', true), { key: 'name', dir: 'desc' });
    assert.deepEqual(nextSort({ key: 'name', dir: 'desc' }, 'class', true), { key: 'class', dir: 'asc' });
  });
});

describe('view: class table CSV', function () {
  it('quotes and escapes fields per RFC 4180', function () {
    assert.equal(csvField('cat'), 'cat');
    assert.equal(csvField('dining, table'), '"dining, table"');
    assert.equal(csvField('motor"bike'), '"motor""bike"');
    assert.equal(csvField('potted\nplant'), '"potted\nplant"');
    assert.equal(csvField('cr\rlf'), '"cr\rlf"');
    assert.equal(csvField(' padded'), '" padded"');
    assert.equal(csvField('<script>alert(1)</script>'), '<script>alert(1)</script>');
  });

  it('defuses spreadsheet formulas', function () {
    assert.equal(csvField('=HYPERLINK("x")'), '"\'=HYPERLINK(""x"")"');
    assert.equal(csvField('+1'), '"\'+1"');
    assert.equal(csvField('-cls'), '"\'-cls"');
    assert.equal(csvField('@sum'), '"\'@sum"');
  });

  it('writes full-precision numbers and nan/inf', function () {
    assert.equal(csvNumber(0.1 + 0.2), '0.30000000000000004');
    assert.equal(csvNumber(NaN), 'nan');
    assert.equal(csvNumber(-Infinity), '-inf');
  });

  it('exports the table with hostile class names intact', function () {
    const names = ['a,b', 'say "hi"', 'two\nlines', '<script>alert(1)</script>'];
    const stats = [row(0, 0.5, 2), row(1, NaN, 0), row(2, 1.25, 4, { share: 0.75 }), row(3, 2, 1)];
    const csv = classTableCsv(stats, names);
    const expected = [
      'class,name,count,ignored,predicted,weight,mean_loss,loss_sum,share,accuracy,iou',
      '0,"a,b",2,0,2,1,0.5,1,0.1,0.5,0.25',
      '1,"say ""hi""",0,0,0,1,nan,nan,0.1,0.5,0.25',
      '2,"two\nlines",4,0,4,1,1.25,5,0.75,0.5,0.25',
      '3,<script>alert(1)</script>,1,0,1,1,2,2,0.1,0.5,0.25',
    ].join('\r\n') + '\r\n';
    assert.equal(csv, expected);
    assert.equal(parseCsv(csv)[3][1], 'two\nlines');
    assert.equal(parseCsv(csv)[2][1], 'say "hi"');
  });
});

/** A minimal RFC 4180 reader, to prove the export round-trips. */
function parseCsv(text: string): string[][] {
  const out: string[][] = [];
  let rowCells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      rowCells.push(cell);
      cell = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      rowCells.push(cell);
      out.push(rowCells);
      rowCells = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  return out;
}
