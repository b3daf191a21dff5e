/**
 * A few DOM helpers. Every text goes in through textContent or an attribute, never as HTML, so
 * nothing the API returns (hosts, names, details) can become markup.
 */

type Child = Node | string | null | undefined | false;
type Attributes = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

/** Creates an element: `on*` entries are listeners, `true` is an empty attribute, null/undefined/false are left out. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  element.append(...children.filter((child): child is Node | string => child !== null && child !== undefined && child !== false));
  return element;
}

/** Replaces an element's children. */
export function replaceChildren(parent: Element, ...children: Child[]): void {
  parent.replaceChildren(...children.filter((child): child is Node | string => child !== null && child !== undefined && child !== false));
}

let idCounter = 0;
/** A unique element id. */
export function uniqueId(prefix: string): string {
  return `${prefix}-${++idCounter}`;
}

/** A labelled form field: the label, the control, and an optional hint tied to it by aria-describedby. */
export function field(label: string, control: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement, hint?: string): HTMLElement {
  control.id ||= uniqueId('field');
  const hintElement = hint ? h('p', { class: 'hint', id: uniqueId('hint') }, hint) : null;
  if (hintElement) control.setAttribute('aria-describedby', hintElement.id);
  if (control instanceof HTMLInputElement && control.type === 'checkbox') {
    return h('div', { class: 'field check' }, control, h('label', { for: control.id }, label), hintElement);
  }
  return h('div', { class: 'field' }, h('label', { for: control.id }, label), control, hintElement);
}

/** A definition list of term → value pairs (values may be nodes). */
export function facts(entries: ReadonlyArray<[string, Child]>): HTMLDListElement {
  return h('dl', { class: 'facts' }, ...entries.flatMap(([term, value]) => [h('dt', {}, term), h('dd', {}, value ?? '—')]));
}

/** The page's polite live region: screen readers read what is put here. */
export function announce(message: string): void {
  const region = document.getElementById('announcer');
  if (!region) return;
  region.textContent = '';
  // A fresh text node in a later task, so the same message twice is read twice.
  setTimeout(() => (region.textContent = message), 50);
}

/**
 * Opens a modal dialog holding `content` (a form, usually) and titled `title`; resolves when it closes.
 * The browser's <dialog> traps focus, closes on Escape and gives focus back to the opener.
 */
export function openDialog(title: string, build: (close: () => void) => Node): Promise<void> {
  const titleId = uniqueId('dialog-title');
  const dialog = h('dialog', { 'aria-labelledby': titleId, class: 'dialog' });
  const close = () => dialog.close();
  dialog.append(h('h2', { id: titleId }, title), build(close));
  document.body.append(dialog);
  dialog.showModal();
  return new Promise((resolve) =>
    dialog.addEventListener('close', () => {
      dialog.remove();
      resolve();
    }),
  );
}

/** Asks for a yes/no confirmation in a dialog; `confirmLabel` names the action (e.g. "Delete ghcr.io"). */
export function confirmAction(title: string, message: string, confirmLabel: string): Promise<boolean> {
  let confirmed = false;
  return openDialog(title, (close) =>
    h(
      'form',
      { method: 'dialog', onsubmit: (event: Event) => (event.preventDefault(), (confirmed = true), close()) },
      h('p', {}, message),
      h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'danger' }, confirmLabel), h('button', { type: 'button', onclick: close }, 'Cancel')),
    ),
  ).then(() => confirmed);
}

/** An error message box (role=alert) for a form, empty until set. */
export function errorBox(): HTMLParagraphElement & { show(message: string): void; clear(): void } {
  const box = h('p', { class: 'error', role: 'alert' }) as HTMLParagraphElement & { show(message: string): void; clear(): void };
  box.show = (message) => (box.textContent = message);
  box.clear = () => (box.textContent = '');
  return box;
}
