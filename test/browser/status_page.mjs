// Drive Debian's headless Chromium against istrigger's status page and report what a person
// would see, as JSON on stdout; the pytest side (test/e2e/test_admin_surface.py) asserts on it.
//
//   node status_page.mjs URL TOKEN SCREENSHOT.png
//
// Checks gathered: rows and their text, which requests the page made (no external assets),
// console errors, keyboard use ('/' focuses the filter, typing filters, Escape clears, Tab
// reaches the skip link first), the live refresh (the generated time changes without a
// reload), horizontal overflow at a laptop's width.
import { chromium } from 'playwright-core';

const [url, token, screenshot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--disable-sync'],
});
const out = { errors: [], requests: [] };
try {
  const context = await browser.newContext({
    viewport: { width: 1366, height: 768 },
    extraHTTPHeaders: token ? { Authorization: 'Bearer ' + token } : {},
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => out.errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') out.errors.push(m.text()); });
  page.on('request', (r) => out.requests.push(r.url()));
  let navigations = 0;
  page.on('framenavigated', (f) => { if (f === page.mainFrame()) navigations++; });

  const resp = await page.goto(url, { waitUntil: 'load' });
  out.status = resp.status();
  out.title = await page.title();
  await page.screenshot({ path: screenshot, fullPage: true });

  const rows = () => page.$$eval('section.ns tr[data-search]', (trs) => trs.map((tr) => ({
    text: tr.innerText.replace(/\s+/g, ' ').trim(),
    state: tr.className,
    problem: tr.hasAttribute('data-problem'),
    visible: !tr.hidden && tr.offsetParent !== null,
  })));
  out.rows = await rows();
  out.summary = await page.$eval('#summary', (e) => e.innerText.replace(/\s+/g, ' ').trim());
  out.overflowX = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);

  // Keyboard: the first Tab reaches the skip link; '/' jumps to the filter.
  await page.keyboard.press('Tab');
  out.firstTab = await page.evaluate(() => document.activeElement.textContent.trim());
  await page.evaluate(() => document.activeElement.blur());
  await page.keyboard.press('/');
  out.slashFocus = await page.evaluate(() => document.activeElement.id);
  await page.keyboard.type('broken');
  out.filtered = (await rows()).filter((r) => r.visible).map((r) => r.text);
  await page.keyboard.press('Escape');
  out.afterEscape = (await rows()).filter((r) => r.visible).length;
  await page.keyboard.press('Tab'); // to the "only problems" checkbox
  await page.keyboard.press('Space');
  out.onlyProblems = (await rows()).filter((r) => r.visible).map((r) => r.text);
  await page.keyboard.press('Space');

  // Live refresh: the page swaps its content from /api/v1/status without navigating.
  const before = await page.$eval('#generated', (e) => e.textContent);
  await page.waitForFunction((b) => document.querySelector('#generated').textContent !== b,
                             before, { timeout: 25000 });
  out.refreshed = true;
  out.navigations = navigations;
  out.refreshStatus = await page.$eval('#refresh', (e) => e.textContent);
  out.rowsAfterRefresh = (await rows()).length;
} catch (e) {
  out.exception = String(e && e.stack || e);
} finally {
  await browser.close();
}
process.stdout.write(JSON.stringify(out) + '\n');
