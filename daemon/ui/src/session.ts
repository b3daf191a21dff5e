/** The signed-in token lives in sessionStorage only: gone when the tab closes, never in a cookie or localStorage. */
const KEY = 'scalr-credd.console.token';

export const session = {
  token: (): string | null => sessionStorage.getItem(KEY),
  signIn: (token: string): void => sessionStorage.setItem(KEY, token),
  signOut: (): void => sessionStorage.removeItem(KEY),
};
