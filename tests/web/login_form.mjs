// Logging in on our page as a user does: egui draws into a canvas, so the test clicks into
// each field (the form's layout is fixed: centred, 420 px wide, rows 23 px apart, in a
// 900x650 viewport) and types. The server field holds the page's own origin (right behind
// trunk serve's proxies); `server`, when given, replaces it.

const FIELD = { server: 98, email: 121, password: 144 };

export async function typeLogin(page, { server, email, password }) {
  await page.waitForTimeout(1000);
  if (server !== undefined) {
    await page.mouse.click(500, FIELD.server);
    await page.waitForTimeout(200);
    await page.keyboard.press('End');
    const shown = new URL(page.url()).origin.length;
    for (let i = 0; i < shown; i += 1) await page.keyboard.press('Backspace');
    await page.keyboard.type(server);
  }
  await page.mouse.click(500, FIELD.email);
  await page.waitForTimeout(200);
  await page.keyboard.type(email);
  await page.mouse.click(500, FIELD.password);
  await page.waitForTimeout(200);
  await page.keyboard.type(password);
  await page.keyboard.press('Enter');
}
