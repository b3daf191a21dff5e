// Names the bench gives to what it seeds.

/** Registry host number `index` of `count`, zero-padded: registry-00042.bench.test. */
export function benchHost(index, count) {
  return `registry-${String(index).padStart(String(count - 1).length, '0')}.bench.test`;
}

/** The host every lookup asks for: the middle one. */
export function lookupHost(count) {
  return benchHost(Math.floor(count / 2), count);
}
