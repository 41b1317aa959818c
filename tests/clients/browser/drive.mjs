// Opens each URL in headless Chromium (playwright-core, the system's
// chromium), waits for the page to finish, and prints the results of every
// page as one JSON array.
//
//   node drive.mjs <url>...
import { chromium } from 'playwright-core';

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
try {
  const all = [];
  for (const url of process.argv.slice(2)) {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(() => window.done === true, null, { timeout: 30000 });
    all.push(JSON.parse(await page.textContent('#results')));
    await page.close();
  }
  console.log(JSON.stringify(all));
} finally {
  await browser.close();
}
