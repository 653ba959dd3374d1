// Opens one HTML file in headless Chromium (@sparticuz/chromium with puppeteer-core), takes a
// full-page screenshot, and prints one JSON line: console messages, page errors, failed
// requests, whether any script ran, and what the page's layout measures.
// Usage: node check_page.js PAGE.html SHOT.png [WIDTH]   (NODE_PATH: the folder holding both packages)
const chromium = require('@sparticuz/chromium').default || require('@sparticuz/chromium');
const puppeteer = require('puppeteer-core');

(async () => {
  const [page_path, shot, width] = process.argv.slice(2);
  const browser = await puppeteer.launch({ executablePath: await chromium.executablePath(), args: chromium.args, headless: true });
  const found = { console: [], errors: [], requests: [] };
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: Number(width || 1000), height: 800 });
    page.on('console', (m) => found.console.push(`${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => found.errors.push(String(e)));
    page.on('requestfailed', (r) => found.requests.push(r.url()));
    page.on('dialog', async (d) => { found.errors.push(`dialog: ${d.message()}`); await d.dismiss(); });
    await page.goto('file://' + page_path, { waitUntil: 'load' });
    await page.screenshot({ path: shot, fullPage: true });
    found.layout = await page.evaluate(() => {
      const box = (e) => { const r = e.getBoundingClientRect(); return { kind: e.getAttribute('class'), width: r.width, height: r.height }; };
      return {
        version: navigator.userAgent.match(/HeadlessChrome\/[\d.]+/)?.[0] || navigator.userAgent,
        injected: window.__injected === true,
        scripts: document.querySelectorAll('script').length,
        images: document.querySelectorAll('img').length,
        bars: [...document.querySelectorAll('svg rect.bar')].map(box),
        chart_width: document.querySelector('svg.chart').getBoundingClientRect().width,
        page_width: document.documentElement.scrollWidth,
        viewport: window.innerWidth,
        failed_labels: [...document.querySelectorAll('.failed, svg text')].map((e) => e.textContent).filter((t) => t.includes('failed')).length,
      };
    });
  } finally {
    await browser.close();
  }
  process.stdout.write(JSON.stringify(found) + '\n');
})().catch((e) => { process.stderr.write(String(e && e.stack || e) + '\n'); process.exit(1); });
