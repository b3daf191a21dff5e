/** The sign-in form: a token typed in, kept in this tab's sessionStorage only. */
import { field, h } from '../dom.js';

/** Builds the sign-in page; `message` says why the user is here again (signed out, expired…). */
export function signInView(onSubmit: (token: string) => void, message?: string): HTMLElement {
  const token = h('input', { type: 'password', required: true, autocomplete: 'off', spellcheck: 'false' });
  const form = h(
    'form',
    {
      class: 'sign-in',
      onsubmit: (event: Event) => {
        event.preventDefault();
        onSubmit(token.value.trim());
      },
    },
    h('h2', {}, 'Sign in'),
    message ? h('p', { class: 'error', role: 'alert' }, message) : null,
    field('Token', token, 'An admin, manager or auditor token (scd_tok_…). It stays in this tab only and is forgotten on Sign out or when the tab closes.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, 'Sign in')),
  );
  queueMicrotask(() => token.focus());
  return form;
}
