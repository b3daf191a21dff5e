/** The console's entry: signed out, the sign-in form; signed in, the shell. */
import { ApiError, createApi, describeFailure } from './api.js';
import { h, replaceChildren } from './dom.js';
import { session } from './session.js';
import { consoleContext } from './views/context.js';
import { renderShell } from './views/shell.js';
import { signInView } from './views/sign-in.js';

const root = document.getElementById('app')!;
let stopShell: (() => void) | undefined;
/** Bumped on every sign-in and sign-out, so a late answer of an old session changes nothing. */
let generation = 0;

function showSignIn(message?: string): void {
  stopShell?.();
  stopShell = undefined;
  document.title = 'Sign in · scalr-credd console';
  replaceChildren(
    root,
    h('header', { class: 'top' }, h('h1', {}, 'scalr-credd console')),
    h('main', { id: 'main', tabindex: '-1' }, signInView(signIn, message)),
  );
}

function signIn(token: string): void {
  session.signIn(token);
  void start();
}

/** Forgets the token and shows the sign-in form with `message`. */
function signOut(message?: string): void {
  generation++;
  session.signOut();
  showSignIn(message);
}

async function start(): Promise<void> {
  const token = session.token();
  if (!token) return showSignIn();
  const mine = ++generation;
  const api = createApi(token, (reason) => {
    if (mine === generation) signOut(`Signed out: ${reason}. Sign in with a current token.`);
  });
  try {
    const me = await api.whoami();
    if (mine !== generation) return;
    stopShell = renderShell(root, consoleContext(api, me), () => signOut('Signed out.'));
  } catch (error) {
    // A 401 has already sent the user back with the daemon's reason.
    if (mine !== generation || (error instanceof ApiError && error.status === 401)) return;
    signOut(`This token cannot use the console: ${describeFailure(error)}`);
  }
}

void start();
