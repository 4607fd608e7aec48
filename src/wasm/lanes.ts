// Vector helpers shared by the kernels' modules (each inlines them where used).

/** Lanes [0, left) of the 4 x 32-bit vector at p, the rest 0 (none past the range is read); bits as stored. */
// @ts-ignore: decorator
@inline export function loadLanes(p: usize, left: i32): v128 {
  if (left >= 4) return v128.load(p);
  let v = i32x4.splat(0);
  if (left > 0) v = i32x4.replace_lane(v, 0, load<i32>(p));
  if (left > 1) v = i32x4.replace_lane(v, 1, load<i32>(p, 4));
  if (left > 2) v = i32x4.replace_lane(v, 2, load<i32>(p, 8));
  return v;
}
