/** The signed-in page: who is signed in, Sign out, the sections and the current view. */
import { h, replaceChildren } from '../dom.js';
import { auditView } from './audit.js';
import { describeHosts, type ConsoleContext, type View } from './context.js';
import { expiry, integrationsView } from './integrations.js';
import { tokensView } from './tokens.js';

interface Section {
  id: string;
  label: string;
  build(ctx: ConsoleContext): View;
}

/** Renders the shell into `root`; returns a function that stops following the location hash. */
export function renderShell(root: HTMLElement, ctx: ConsoleContext, onSignOut: () => void): () => void {
  const sections: Section[] = [
    { id: 'integrations', label: 'Integrations', build: integrationsView },
    { id: 'tokens', label: 'Tokens', build: tokensView },
    ...(ctx.can('audit.read') ? [{ id: 'audit', label: 'Audit', build: auditView }] : []),
  ];
  const { me } = ctx;
  const links = sections.map((section) => h('a', { href: `#${section.id}` }, section.label));
  const main = h('main', { id: 'main', tabindex: '-1' });
  replaceChildren(
    root,
    h(
      'header',
      { class: 'top' },
      h('h1', {}, 'scalr-credd console'),
      h(
        'div',
        { class: 'who', 'aria-label': 'Signed in', role: 'group' },
        h('p', {}, 'Signed in as ', h('strong', {}, me.name), ` · role ${me.role} · hosts: ${describeHosts(me.hosts)} · expires: `, expiry(me.expiresAt, false)),
        h('button', { type: 'button', onclick: onSignOut }, 'Sign out'),
      ),
      h('nav', { 'aria-label': 'Sections' }, h('ul', {}, ...links.map((link) => h('li', {}, link)))),
    ),
    main,
  );

  let shown: string | undefined;
  const show = () => {
    const section = sections.find((candidate) => `#${candidate.id}` === location.hash) ?? sections[0]!;
    if (section.id === shown) return;
    const first = shown === undefined;
    shown = section.id;
    links.forEach((link, index) => (sections[index] === section ? link.setAttribute('aria-current', 'page') : link.removeAttribute('aria-current')));
    const view = section.build(ctx);
    replaceChildren(main, view.element);
    document.title = `${section.label} · scalr-credd console`;
    if (!first) view.element.querySelector<HTMLElement>('h2')?.focus();
    void view.refresh();
  };
  window.addEventListener('hashchange', show);
  show();
  return () => window.removeEventListener('hashchange', show);
}
