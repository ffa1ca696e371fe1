/**
 * A page as a slicing tree: leaves are panels (in reading order), inner nodes
 * are `row`s (children side by side) or `stack`s (children one above another).
 * Rows never hold rows and stacks never hold stacks, so each arrangement has
 * exactly one tree; the number of trees for n panels is the large Schröder
 * number S(n-1): 1, 2, 6, 22, 90, 394, 1806, 8558.
 */
export type SlicingTree = { kind: 'panel'; index: number } | { kind: 'row' | 'stack'; children: SlicingTree[] };

type Split = 'row' | 'stack';

/** All compositions of [start, end) into at least two consecutive parts. */
function* compositions(start: number, end: number): Generator<[number, number][]> {
  const n = end - start;
  // Each of the n-1 gaps is either a cut or not; at least one cut.
  for (let mask = 1; mask < 1 << (n - 1); mask++) {
    const parts: [number, number][] = [];
    let from = start;
    for (let gap = 0; gap < n - 1; gap++) {
      if (mask & (1 << gap)) {
        parts.push([from, start + gap + 1]);
        from = start + gap + 1;
      }
    }
    parts.push([from, end]);
    yield parts;
  }
}

/** Every slicing tree over panels 0..n-1, memoised by (range, parent split). */
export function enumerateTrees(n: number): SlicingTree[] {
  if (n < 1 || n > 8) throw new Error(`slicing trees are enumerated for 1 to 8 panels, not ${n}`);
  const memo = new Map<string, SlicingTree[]>();
  const build = (start: number, end: number, parent: Split | null): SlicingTree[] => {
    if (end - start === 1) return [{ kind: 'panel', index: start }];
    const key = `${start}:${end}:${parent}`;
    const cached = memo.get(key);
    if (cached) return cached;
    const out: SlicingTree[] = [];
    for (const kind of ['stack', 'row'] as const) {
      if (kind === parent) continue;
      for (const parts of compositions(start, end)) {
        let combos: SlicingTree[][] = [[]];
        for (const [a, b] of parts) {
          const options = build(a, b, kind);
          combos = combos.flatMap((prefix) => options.map((t) => [...prefix, t]));
        }
        for (const children of combos) out.push({ kind, children });
      }
    }
    memo.set(key, out);
    return out;
  };
  return build(0, n, null);
}

/** Compact notation: `S(R(0,1),2)` — S for stack, R for row. */
export function treeNotation(tree: SlicingTree): string {
  if (tree.kind === 'panel') return String(tree.index);
  return `${tree.kind === 'row' ? 'R' : 'S'}(${tree.children.map(treeNotation).join(',')})`;
}

export function panelCount(tree: SlicingTree): number {
  return tree.kind === 'panel' ? 1 : tree.children.reduce((n, c) => n + panelCount(c), 0);
}
