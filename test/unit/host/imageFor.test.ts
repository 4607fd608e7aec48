// Finding the photo for a sample by stem beside its input or target (src/host/panels/imageFor.ts).
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { findImageFor, imageCandidates, imageMime, imageStem } from '../../../src/host/panels/imageFor';

const D = path.join(path.sep, 'data');
const at = (...files: string[]): ((p: string) => Promise<boolean>) => {
  const set = new Set(files.map((f) => path.join(D, f)));
  return async (p) => set.has(p);
};

describe('imageFor: the photo beside a sample', () => {
  it('strips the Cityscapes and common suffixes to a stem', () => {
    assert.equal(imageStem('frankfurt_000000_000294_gtFine_labelIds.png'), 'frankfurt_000000_000294');
    assert.equal(imageStem('frankfurt_000000_000294_leftImg8bit.png'), 'frankfurt_000000_000294');
    assert.equal(imageStem('/a/b/x_logits.npy'), 'x');
    assert.equal(imageStem('x_labels.npy'), 'x');
    assert.equal(imageStem('x_mask.png'), 'x');
    assert.equal(imageStem('out.pt:logits'), 'out');
    assert.equal(imageStem('x.npy'), 'x');
  });

  it('finds the Cityscapes leftImg8bit photo beside a gtFine label target', async () => {
    const found = await findImageFor(
      [path.join(D, 'frankfurt_000000_000294_logits.npy'), path.join(D, 'frankfurt_000000_000294_gtFine_labelIds.png')],
      at('frankfurt_000000_000294_gtFine_labelIds.png', 'frankfurt_000000_000294_leftImg8bit.png'));
    assert.equal(found, path.join(D, 'frankfurt_000000_000294_leftImg8bit.png'));
  });

  it('finds x.jpg beside x.npy', async () => {
    assert.equal(await findImageFor([path.join(D, 'x.npy'), path.join(D, 'y.npy')], at('x.jpg', 'x.npy')), path.join(D, 'x.jpg'));
  });

  it('finds none where no image shares the stem, and never offers the loss target itself', async () => {
    assert.equal(await findImageFor([path.join(D, 'x.npy'), path.join(D, 'y.npy')], at('z.jpg', 'x.npy')), null);
    // A PNG label mask x.png is the target, not a photo.
    const cands = imageCandidates([path.join(D, 'x.npy'), path.join(D, 'x.png')]);
    assert.ok(!cands.includes(path.join(D, 'x.png')));
    assert.equal(await findImageFor([path.join(D, 'x.npy'), path.join(D, 'x.png')], at('x.png')), null);
    assert.equal(await findImageFor([null, null], at('x.png')), null);
  });

  it('names PNG and JPEG MIME types only', () => {
    assert.equal(imageMime('a.PNG'), 'image/png');
    assert.equal(imageMime('a.jpeg'), 'image/jpeg');
    assert.equal(imageMime('a.gif'), null);
  });
});
