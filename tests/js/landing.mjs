// The relay's landing page in a real browser: Debian's chromium driven by playwright-core (no browser download).
// Opens the page at a phone's size and at a desktop's, saves a screenshot of each, and prints one JSON line of
// what a person sees: the title, the heading, the connect address, the figures, the NIP links (text and href),
// the limits, and whether the phone page needs scrolling sideways.
// Usage: node landing.mjs <http-url> <screenshot folder>   (CHROMIUM overrides /usr/bin/chromium)
import { assertNodeVersion } from './check-node.mjs';
import path from 'node:path';

assertNodeVersion();
const { chromium } = await import('playwright-core');
const [url, folder] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],   // as root in a container
});
try {
  const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true });
  await phone.goto(url, { waitUntil: 'load' });
  await phone.screenshot({ path: path.join(folder, 'landing-phone.png'), fullPage: true });
  const seen = await phone.evaluate(() => ({
    title: document.title,
    heading: document.querySelector('h1')?.innerText,
    description: [...document.querySelectorAll('p.description')].map(p => p.innerText),
    connect: document.querySelector('#url')?.innerText,
    figures: Object.fromEntries([...document.querySelectorAll('#figures dt')].map(dt => [dt.innerText, dt.nextElementSibling?.innerText])),
    nips: [...document.querySelectorAll('#nips a')].map(a => ({ text: a.innerText, href: a.href })),
    limits: Object.fromEntries([...document.querySelectorAll('#limits dt')].map(dt => [dt.innerText, dt.nextElementSibling?.innerText])),
    operator: Object.fromEntries([...document.querySelectorAll('#operator dt')].map(dt => [dt.innerText, dt.nextElementSibling?.innerText])),
    scrollsSideways: document.documentElement.scrollWidth > window.innerWidth,
    scripts: document.scripts.length,
  }));
  const desktop = await browser.newPage({ viewport: { width: 1280, height: 900 } });
  await desktop.goto(url, { waitUntil: 'load' });
  await desktop.screenshot({ path: path.join(folder, 'landing-desktop.png'), fullPage: true });
  process.stdout.write(JSON.stringify(seen) + '\n');
} finally {
  await browser.close();
}
