/**
 * The admin console in a real browser (Debian's chromium through playwright-core, headless) against
 * a real `scalr-credd serve` process, a real docker-registry and the real helper. The tests run in
 * order and build on each other: sign in, add the registry's credential, test it, mint a runner
 * token and use it, stop exporting, revoke, read the audit log; then other roles and an expired token.
 * Every view is checked with axe-core (no serious or critical violation) and photographed.
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callDaemon } from '../support/ops-http.js';
import { inPage, openBrowser, screenshot, seriousA11yViolations, type BrowserPage } from '../support/browser.js';
import { bundledHelper, helperEnv, runHelperProcess } from '../support/hardening/helper-process.js';
import { homeDir, makeTempDir, startDaemon, TOKEN_PATTERN, type RunningDaemon } from '../support/processes.js';
import { startRegistry, type RunningRegistry } from '../support/registry.js';
import { expireToken } from '../support/tamper.js';
import { requireTool } from '../support/tools.js';

const ready = requireTool('chromium', 'docker-registry', 'htpasswd');

const USER = 'console-user';
// Distinctive, so that finding them anywhere is a finding.
const PASS = `reg-pass-${randomBytes(12).toString('hex')}`;
const WRONG = `wrong-pass-${randomBytes(12).toString('hex')}`;
const NOT_FOUND = 'credentials not found in native keychain';

describe.skipIf(!ready)('the admin console in chromium', () => {
  let daemon: RunningDaemon;
  let registry: RunningRegistry;
  let admin: BrowserPage;
  let runnerToken: string;

  beforeAll(async () => {
    registry = await startRegistry(join(makeTempDir('scalr-console-registry-'), 'registry'), { kind: 'htpasswd', user: USER, pass: PASS });
    daemon = await startDaemon();
    admin = await openBrowser();
  });

  afterAll(async () => {
    await daemon?.stop();
  });

  /** The helper bundle's `get` for the registry, with `token`. */
  const helperGet = (token: string) =>
    runHelperProcess(bundledHelper(), ['get'], registry.host, helperEnv({ url: daemon.url, token, home: homeDir() })).then((run) => ({
      code: run.code,
      stdout: run.stdout.toString(),
      stderr: run.stderr.toString(),
    }));

  /** A token minted through the API with the first admin token. */
  async function mint(body: object): Promise<{ id: string; token: string }> {
    const res = await callDaemon(daemon.url, 'POST', '/v1/tokens', { token: daemon.adminToken!, body });
    expect(res.status, res.text).toBe(201);
    return res.body as { id: string; token: string };
  }

  async function signIn(page: Page, token: string): Promise<void> {
    await page.goto(`${daemon.url}/ui/`);
    await page.getByLabel('Token', { exact: true }).fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
  }

  async function expectAccessible(page: Page, name: string): Promise<void> {
    await screenshot(page, name);
    expect(await seriousA11yViolations(page), name).toEqual([]);
  }

  /** The card of the registry's integration. */
  const integrationCard = (page: Page) => page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: registry.host, exact: true }) });

  it('signs in with a token typed into the form, keeps it in sessionStorage only and shows who is signed in', async () => {
    const { page, context } = admin;
    await page.goto(`${daemon.url}/ui/`);
    await expectAccessible(page, '01-sign-in');

    await signIn(page, daemon.adminToken!);

    const who = page.getByRole('group', { name: 'Signed in' });
    await expect.poll(() => who.textContent()).toContain('role admin');
    expect(await who.textContent()).toMatch(/Signed in as .+ · role admin · hosts: all hosts · expires: never/);
    expect(await inPage<string[]>(page, 'Object.values(sessionStorage)')).toEqual([daemon.adminToken]);
    expect(await inPage<number>(page, 'localStorage.length')).toBe(0);
    expect(await context.cookies()).toEqual([]);
    for (const name of ['Integrations', 'Tokens', 'Audit']) await expect.poll(() => page.getByRole('link', { name }).count()).toBe(1);
  });

  it('adds a static integration for the real registry and lists it', async () => {
    const { page } = admin;
    await page.getByRole('button', { name: 'Add integration' }).click();
    const form = page.getByRole('dialog', { name: 'Add integration' });
    await form.getByLabel('Host', { exact: true }).fill(registry.host);
    await expect.poll(() => form.getByLabel('Provider').inputValue()).toBe('static');
    await form.getByLabel('Username', { exact: true }).fill(USER);
    await form.getByLabel('Secret', { exact: true }).fill(PASS);
    expect(await form.getByLabel('Export credentials').isChecked()).toBe(true);
    await expectAccessible(page, '02-add-integration');
    await form.getByRole('button', { name: 'Save' }).click();

    const card = integrationCard(page);
    await card.waitFor();
    const text = await card.textContent();
    expect(text).toContain(USER);
    expect(text).toContain('Static username and secret');
    expect(text).toContain('never tested');
    expect(await card.getByRole('switch', { name: /Export credentials/ }).isChecked()).toBe(true);
    await expectAccessible(page, '03-integrations');
  });

  it('runs "Test": ok for the right password, unauthorized after replacing it with a wrong one', async () => {
    const { page } = admin;
    const card = integrationCard(page);
    await card.getByRole('button', { name: /^Test/ }).click();
    await expect.poll(() => card.textContent()).toMatch(/Last test\s*ok/);

    await card.getByRole('button', { name: /^Edit/ }).click();
    const form = page.getByRole('dialog', { name: `Edit ${registry.host}` });
    // Write-only: the secret is "set", never shown; Replace gives an empty field.
    expect(await form.textContent()).toContain('Secret: set');
    expect(await form.getByLabel('Secret', { exact: true }).isVisible()).toBe(false);
    await form.getByRole('button', { name: /^Replace/ }).click();
    expect(await form.getByLabel('Secret', { exact: true }).inputValue()).toBe('');
    await form.getByLabel('Secret', { exact: true }).fill(WRONG);
    await expectAccessible(page, '04-edit-integration');
    await form.getByRole('button', { name: 'Save' }).click();
    await form.waitFor({ state: 'detached' });

    await integrationCard(page).getByRole('button', { name: /^Test/ }).click();
    await expect.poll(() => integrationCard(page).textContent()).toMatch(/Last test\s*unauthorized/);

    // Back to the right password for what follows.
    await integrationCard(page).getByRole('button', { name: /^Edit/ }).click();
    const again = page.getByRole('dialog', { name: `Edit ${registry.host}` });
    await again.getByRole('button', { name: /^Replace/ }).click();
    await again.getByLabel('Secret', { exact: true }).fill(PASS);
    await again.getByRole('button', { name: 'Save' }).click();
    await again.waitFor({ state: 'detached' });
    await integrationCard(page).getByRole('button', { name: /^Test/ }).click();
    await expect.poll(() => integrationCard(page).textContent()).toMatch(/Last test\s*ok/);
    await expectAccessible(page, '04-integration-tested');
  });

  it('creates a runner token shown exactly once; the helper gets the credential with it; a reload forgets it', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByRole('button', { name: 'Create token' }).click();
    const form = page.getByRole('dialog', { name: 'Create token' });
    await form.getByLabel('Name', { exact: true }).fill('ci-run-42');
    await form.getByLabel('Role', { exact: true }).selectOption('runner');
    await form.getByLabel('TTL', { exact: true }).selectOption({ label: '1 hour' });
    await form.getByLabel('Hosts', { exact: true }).fill(registry.host);
    await expectAccessible(page, '05-create-token');
    await form.getByRole('button', { name: 'Create' }).click();

    const once = page.getByRole('region', { name: 'New token' });
    await once.waitFor();
    expect(await once.textContent()).toContain('you will not see this again');
    runnerToken = await once.getByLabel('New token').inputValue();
    expect(runnerToken).toMatch(TOKEN_PATTERN);
    expect(await once.getByRole('button', { name: 'Copy' }).count()).toBe(1);
    const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'ci-run-42' }) });
    await expect.poll(() => card.textContent()).toContain(registry.host);
    await expectAccessible(page, '06-tokens-new-token');

    const got = await helperGet(runnerToken);
    expect(got.code, got.stderr).toBe(0);
    expect(JSON.parse(got.stdout)).toEqual({ ServerURL: registry.host, Username: USER, Secret: PASS });

    await page.reload();
    await page.getByRole('heading', { name: 'Tokens' }).waitFor();
    await card.waitFor();
    expect(await page.getByRole('region', { name: 'New token' }).count()).toBe(0);
    expect(await page.content()).not.toContain(runnerToken.slice(-43));
    expect(await inPage<string>(page, 'JSON.stringify(sessionStorage)')).not.toContain(runnerToken);
  });

  it('toggles export off: the runner\'s get changes from found to not found', async () => {
    const { page } = admin;
    expect((await helperGet(runnerToken)).code).toBe(0);
    await page.getByRole('link', { name: 'Integrations' }).click();
    const toggle = integrationCard(page).getByRole('switch', { name: /Export credentials/ });
    await toggle.uncheck();
    await expect.poll(async () => (await callDaemon(daemon.url, 'GET', '/v1/integrations', { token: daemon.adminToken! })).text).toContain('"export":false');

    const got = await helperGet(runnerToken);
    expect(got.code).toBe(1);
    expect(got.stdout.trim()).toBe(NOT_FOUND);

    await toggle.check();
    await expect.poll(async () => (await helperGet(runnerToken)).code).toBe(0);
  });

  it('revokes the runner token: the helper is refused', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Tokens' }).click();
    const card = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: 'ci-run-42' }) });
    await card.getByRole('button', { name: /^Revoke/ }).click();
    const confirm = page.getByRole('dialog', { name: 'Revoke ci-run-42?' });
    await expectAccessible(page, '07-revoke-confirm');
    await confirm.getByRole('button', { name: 'Revoke ci-run-42' }).click();
    await expect.poll(() => card.textContent()).toMatch(/Revoked\s*\d/);
    expect(await card.getByRole('button', { name: /^Revoke/ }).count()).toBe(0);
    // The only permanent admin token: the daemon's last-admin guard would refuse, so it is not offered.
    const self = page.getByRole('listitem').filter({ has: page.getByRole('heading', { name: /\(you\)$/ }) });
    expect(await self.textContent()).toContain('Roleadmin');
    expect(await self.getByRole('button', { name: /^Revoke/ }).count()).toBe(0);

    const got = await helperGet(runnerToken);
    expect(got.code).toBe(1);
    expect(`${got.stdout}${got.stderr}`).toContain('rejected the token (401');
    expect(got.stdout).not.toContain(PASS);
  });

  it('shows those events in the audit view, newest first, filtered and paged, with the chain verified', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Audit' }).click();
    const table = page.getByRole('region', { name: 'Audit events' });
    await expect.poll(() => page.locator('p.chain').textContent()).toContain('Hash chain verified');
    const seqs = async () => (await table.locator('tbody tr td:first-child').allTextContents()).map(Number);
    const newest = await seqs();
    expect(newest.length).toBeGreaterThan(10);
    expect(newest).toEqual([...newest].sort((a, b) => b - a));
    expect(await table.textContent()).toContain('token.revoke');
    await expectAccessible(page, '08-audit');

    // The registry's host: what was done to its integration and the lookups the helper made.
    const filters = page.getByRole('search', { name: 'Audit filters' });
    await filters.getByLabel('Host', { exact: true }).fill(registry.host);
    await filters.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(() => table.textContent()).toContain('integration.create');
    const hostRows = await table.textContent();
    for (const action of ['integration.create', 'integration.update', 'integration.test', 'credential.get']) expect(hostRows).toContain(action);
    expect(await page.locator('p.chain').textContent()).toMatch(/Hash chain (verified|not checked)/);

    // The runner token's lookups: three served, one not found while unexported, then refused as revoked.
    await filters.getByLabel('Host', { exact: true }).fill('');
    await filters.getByLabel('Token', { exact: true }).selectOption({ label: 'ci-run-42 (runner)' });
    await filters.getByRole('button', { name: 'Apply filters' }).click();
    await expect.poll(async () => (await table.locator('tbody tr').allTextContents()).every((row) => row.includes('ci-run-42'))).toBe(true);
    const outcomes = await table.locator('tbody tr td:nth-child(4)').allTextContents();
    expect(outcomes).toContain('not_found');
    expect(outcomes.filter((outcome) => outcome === 'ok').length).toBeGreaterThanOrEqual(3);

    // Paging over more events than one page (50) holds: reading the log is itself audited.
    for (let i = 0; i < 60; i++) expect((await callDaemon(daemon.url, 'GET', '/v1/audit?limit=1', { token: daemon.adminToken! })).status).toBe(200);
    await filters.getByRole('button', { name: 'Clear' }).click();
    await expect.poll(async () => (await seqs()).length).toBe(50);
    const first = await seqs();
    await page.getByRole('button', { name: 'Older' }).click();
    await expect.poll(async () => (await seqs())[0]).toBeLessThan(first.at(-1)!);
    await page.getByRole('button', { name: 'Newer' }).click();
    await expect.poll(async () => (await seqs()).at(-1)).toBeGreaterThanOrEqual(first.at(-1)!);
  });

  it('never lets the registry secret reach the DOM, a response the page received, or sessionStorage', async () => {
    const { page } = admin;
    for (const section of ['Integrations', 'Tokens', 'Audit']) {
      await page.getByRole('link', { name: section }).click();
      await page.getByRole('heading', { name: section, level: 2 }).waitFor();
      const dom = await inPage<string>(page, `[document.documentElement.outerHTML, ...[...document.querySelectorAll('input, textarea')].map((field) => field.value)].join('\\n')`);
      for (const secret of [PASS, WRONG]) expect(dom).not.toContain(secret);
    }
    const bodies = await admin.responseBodies();
    expect(bodies.length).toBeGreaterThan(20);
    for (const body of bodies) for (const secret of [PASS, WRONG]) expect(body).not.toContain(secret);
    const storage = await inPage<string>(page, 'JSON.stringify({ session: { ...sessionStorage }, local: { ...localStorage } })');
    for (const secret of [PASS, WRONG]) expect(storage).not.toContain(secret);
    // The page kept to its CSP: no violation, no script error.
    expect(admin.errors).toEqual([]);
  });

  it('is usable with the keyboard alone and readable in a narrow window (400% zoom of 1280 px)', async () => {
    const { page } = admin;
    await page.getByRole('link', { name: 'Integrations' }).click();
    await page.getByRole('button', { name: 'Add integration' }).waitFor();
    await page.getByRole('link', { name: 'Integrations' }).focus();
    const focusedName = () => inPage<string>(page, "document.activeElement?.textContent?.trim() ?? ''");
    for (let i = 0; i < 10 && (await focusedName()) !== 'Add integration'; i++) await page.keyboard.press('Tab');
    expect(await focusedName()).toBe('Add integration');
    await page.keyboard.press('Enter');
    const form = page.getByRole('dialog', { name: 'Add integration' });
    await form.waitFor();
    expect(await inPage<boolean>(page, "document.activeElement?.closest('dialog') !== null")).toBe(true);
    await page.keyboard.press('Escape');
    await form.waitFor({ state: 'detached' });
    expect(await focusedName()).toBe('Add integration');

    await page.setViewportSize({ width: 320, height: 800 });
    for (const section of ['Integrations', 'Tokens', 'Audit']) {
      await page.getByRole('link', { name: section }).click();
      await page.getByRole('heading', { name: section, level: 2 }).waitFor();
      expect(await inPage<number>(page, 'document.documentElement.scrollWidth'), section).toBeLessThanOrEqual(320);
      await expectAccessible(page, `09-narrow-${section.toLowerCase()}`);
    }
    await page.setViewportSize({ width: 1100, height: 800 });
  });

  it('shows an auditor everything read-only: no "Add integration", no Test, Edit, Delete, Create token or Revoke', async () => {
    const auditor = await mint({ name: 'console auditor', role: 'auditor' });
    const { page } = await openBrowser();
    await signIn(page, auditor.token);

    await integrationCard(page).waitFor();
    expect(await integrationCard(page).textContent()).toContain('yes: served to helpers');
    for (const name of ['Add integration', /^Test/, /^Edit/, /^Delete/]) expect(await page.getByRole('button', { name }).count()).toBe(0);
    expect(await page.getByRole('switch').count()).toBe(0);
    await expectAccessible(page, '10-auditor-integrations');

    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByRole('heading', { name: 'Tokens', level: 2 }).waitFor();
    await page.getByRole('listitem').first().waitFor();
    for (const name of ['Create token', /^Revoke/]) expect(await page.getByRole('button', { name }).count()).toBe(0);
    expect(await page.getByRole('link', { name: 'Audit' }).count()).toBe(1);
  });

  it('offers a manager only runner tokens and no audit view', async () => {
    const manager = await mint({ name: 'console manager', role: 'manager' });
    const { page } = await openBrowser();
    await signIn(page, manager.token);

    await page.getByRole('link', { name: 'Tokens' }).click();
    await page.getByRole('button', { name: 'Create token' }).click();
    const roles = await page.getByRole('dialog', { name: 'Create token' }).getByLabel('Role', { exact: true }).locator('option').allTextContents();
    expect(roles).toEqual(['runner']);
    expect(await page.getByRole('link', { name: 'Audit' }).count()).toBe(0);
  });

  it('sends an expired token back to the sign-in form with a clear message', async () => {
    const shortLived = await mint({ name: 'short-lived admin', role: 'admin', ttlSeconds: 3600 });
    const { page } = await openBrowser();
    await signIn(page, shortLived.token);
    await integrationCard(page).waitFor();

    await expireToken(daemon.dataDir, shortLived.id);

    await page.getByRole('link', { name: 'Tokens' }).click();
    const alert = page.getByRole('alert');
    await expect.poll(() => alert.textContent()).toContain('expired');
    expect(await alert.textContent()).toMatch(/^Signed out: the bearer token has expired\. Sign in with a current token\.$/);
    expect(await page.getByRole('button', { name: 'Sign in' }).count()).toBe(1);
    expect(await inPage<number>(page, 'sessionStorage.length')).toBe(0);
    await expectAccessible(page, '11-expired');
  });

  it('forgets the token on "Sign out"', async () => {
    const { page } = admin;
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await inPage<number>(page, 'sessionStorage.length')).toBe(0);
    await page.reload();
    await page.getByRole('button', { name: 'Sign in' }).waitFor();
    expect(await page.getByRole('button', { name: 'Sign out' }).count()).toBe(0);
  });
});
