/**
 * A real browser for the console's tests: Debian's chromium, headless, driven by playwright-core,
 * each context on a new empty profile. axe-core is evaluated in the page (through the DevTools
 * protocol, so the page's CSP stays as the daemon sent it) to check accessibility. Screenshots go to
 * .cache/screenshots/ (ignored by git).
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page, type Response } from 'playwright-core';
import { afterAll } from 'vitest';
import { makeTempDir, REPO_ROOT } from './processes.js';
import { findTool } from './tools.js';

/** Where the tests write a screenshot of each view. */
export const SCREENSHOT_DIR = join(REPO_ROOT, '.cache', 'screenshots');

const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const contexts = new Set<BrowserContext>();
afterAll(async () => {
  await Promise.all([...contexts].map((context) => context.close()));
  contexts.clear();
});

/** A page in a fresh browser profile, with everything it received recorded. */
export interface BrowserPage {
  page: Page;
  context: BrowserContext;
  /** Every response body the page received so far, as text (await it: bodies are read as they come). */
  responseBodies(): Promise<string[]>;
  /** Console errors and uncaught exceptions (a CSP violation is reported here). */
  errors: string[];
}

/** Opens chromium (headless) on a new empty profile; `viewport` defaults to 1100×800. */
export async function openBrowser(viewport = { width: 1100, height: 800 }): Promise<BrowserPage> {
  const executablePath = findTool('chromium');
  if (!executablePath) throw new Error('chromium is not on PATH (.ci/run installs it)');
  const context = await chromium.launchPersistentContext(makeTempDir('scalr-chromium-'), {
    executablePath,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    locale: 'en-GB',
    timezoneId: 'UTC',
  });
  contexts.add(context);
  const page = context.pages()[0] ?? (await context.newPage());
  const bodies: Array<Promise<string>> = [];
  const errors: string[] = [];
  page.on('response', (response: Response) => bodies.push(response.text().catch(() => '')));
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return { page, context, responseBodies: () => Promise.all(bodies), errors };
}

let axeSource: string | undefined;

/** Runs axe-core on the page; returns the serious and critical violations (id: nodes). */
export async function seriousA11yViolations(page: Page): Promise<string[]> {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await inPage<boolean>(page, "'axe' in window"))) await page.evaluate(axeSource);
  const violations = await inPage<Array<{ id: string; impact: string | null; targets: string[] }>>(
    page,
    `axe.run(document).then((result) => result.violations.map((violation) => ({
      id: violation.id, impact: violation.impact, targets: violation.nodes.map((node) => JSON.stringify(node.target)),
    })))`,
  );
  return violations.filter((violation) => violation.impact === 'serious' || violation.impact === 'critical').map((violation) => `${violation.id}: ${violation.targets.join(' ')}`);
}

/** Evaluates a JavaScript expression in the page (the tests are type-checked without the DOM library). */
export function inPage<T>(page: Page, expression: string): Promise<T> {
  return page.evaluate(expression) as Promise<T>;
}

/** Writes a full-page screenshot to .cache/screenshots/NAME.png. */
export async function screenshot(page: Page, name: string): Promise<void> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOT_DIR, `${name}.png`), fullPage: true });
}
