// The events of a virtualized list of rows that each open something (the dataset view's images, the runs
// view's images): scrolling redraws, a click or Enter/Space on a row opens its index, arrow keys move the focus
// by one position. Rows carry data-index (what to open) and data-pos (their place in the sorted order).

export function wireRowEvents(scroller: HTMLElement, on: { render(): void; open(index: number): void; focusPosition(pos: number): void }): void {
  scroller.addEventListener('scroll', () => on.render());
  scroller.addEventListener('click', (e) => {
    const row = (e.target as Element | null)?.closest?.('[data-index]');
    if (row) on.open(Number(row.getAttribute('data-index')));
  });
  scroller.addEventListener('keydown', (e: KeyboardEvent) => {
    const row = (e.target as Element | null)?.closest?.('[data-index]') as HTMLElement | null;
    if (!row) return;
    if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      on.open(Number(row.getAttribute('data-index')));
    } else if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      on.focusPosition(Number(row.getAttribute('data-pos')) + (e.key === 'ArrowDown' ? 1 : -1));
    }
  });
}
