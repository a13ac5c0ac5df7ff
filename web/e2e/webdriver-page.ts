// Firefox and WebKit for the browser tests, driven over WebDriver: Playwright
// drives only builds of its own, which cannot be fetched here. Debian's
// firefox-esr runs under geckodriver (`cargo install geckodriver`), and
// WebKitGTK's MiniBrowser under WebKitWebDriver (webkit2gtk-driver) on a
// virtual X display (xvfb). A page here offers what the cross-browser tests
// ask of one: open a URL, run a function in the page, wait for a condition,
// size the viewport, take a screenshot.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

import { Builder, By, Capabilities, type WebDriver } from 'selenium-webdriver';
import * as firefox from 'selenium-webdriver/firefox';

export const FIREFOX = process.env.CINEMESH_FIREFOX ?? '/usr/bin/firefox-esr';
/** geckodriver: named, or on the PATH, or where `cargo install` puts it. */
export const GECKODRIVER =
  process.env.CINEMESH_GECKODRIVER ??
  [...(process.env.PATH ?? '').split(delimiter), join(process.env.CARGO_HOME ?? join(homedir(), '.cargo'), 'bin')]
    .map((folder) => join(folder, 'geckodriver'))
    .find((path) => existsSync(path)) ??
  'geckodriver';
export const MINIBROWSER = process.env.CINEMESH_MINIBROWSER ?? '/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser';

/**
 * What Chromium's flags in harness.ts do, for Firefox: a synthetic camera and
 * microphone without a prompt, autoplay with sound, and ICE host candidates on
 * loopback under their real addresses (Firefox hides them behind mDNS names
 * and leaves loopback out by default; the tests' hosts have only loopback and
 * a private veth).
 */
const FIREFOX_PREFS: Record<string, boolean | number> = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  'media.autoplay.default': 0,
  'media.autoplay.blocking_policy': 0,
  'media.peerconnection.ice.loopback': true,
  'media.peerconnection.ice.obfuscate_host_addresses': false,
};

export class DriverPage {
  constructor(
    readonly driver: WebDriver,
    readonly browserName: string,
    /** Stops what runs the browser besides its driver session (WebKit's driver and X display). */
    private readonly stopHost: () => void = () => {},
  ) {}

  async goto(url: string): Promise<void> {
    await this.driver.get(url);
  }

  /**
   * Runs `fn(arg)` in the page and returns what it returns (a promise is
   * awaited). As with Playwright, the function is sent as source: it sees
   * nothing of this module's scope.
   */
  async evaluate<R, A = undefined>(fn: (arg: A) => R | Promise<R>, arg?: A): Promise<R> {
    return (await this.driver.executeScript(`return (${fn.toString()})(arguments[0]);`, arg ?? null)) as R;
  }

  /**
   * Polls `fn(arg)` in the page until it is truthy; `what` names it in the
   * error, with what `explain` finds in the page then.
   */
  async waitFor<A>(fn: (arg: A) => unknown, arg: A, timeoutMs: number, what: string, explain?: () => unknown): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!(await this.evaluate(fn, arg))) {
      if (Date.now() > deadline) {
        const found = explain === undefined ? '' : `: ${JSON.stringify(await this.evaluate(explain))}`;
        throw new Error(`${this.browserName}: no ${what} within ${timeoutMs} ms${found}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }

  /** Sizes the window so that the page's viewport is `width` x `height` CSS pixels. */
  async setViewport(width: number, height: number): Promise<void> {
    const frame = this.driver.manage().window();
    await frame.setRect({ width, height });
    const inner = await this.evaluate(() => [window.innerWidth, window.innerHeight]);
    await frame.setRect({ width: 2 * width - (inner[0] ?? width), height: 2 * height - (inner[1] ?? height) });
  }

  async screenshot(path: string): Promise<void> {
    writeFileSync(path, await this.driver.takeScreenshot(), 'base64');
  }

  async close(): Promise<void> {
    try {
      await this.driver.quit();
    } finally {
      this.stopHost();
    }
  }
}

/** A headless Firefox of its own (a fresh profile), with one page. */
export async function launchFirefox(): Promise<DriverPage> {
  for (const [path, install] of [
    [FIREFOX, 'apt-get install firefox-esr'],
    [GECKODRIVER, 'cargo install geckodriver'],
  ] as const) {
    if (!existsSync(path)) throw new Error(`${path} is missing: ${install} (.ci/run does)`);
  }
  const options = new firefox.Options().setBinary(FIREFOX).addArguments('-headless');
  for (const [name, value] of Object.entries(FIREFOX_PREFS)) options.setPreference(name, value);
  const driver = await new Builder()
    .forBrowser('firefox')
    .setFirefoxOptions(options)
    .setFirefoxService(new firefox.ServiceBuilder(GECKODRIVER))
    .build();
  return new DriverPage(driver, 'firefox');
}

/**
 * WebKitGTK's MiniBrowser on a virtual X display of its own, with every
 * feature its build may have switched on (WebRTC, media capture with mock
 * devices, MediaSource): what is still missing is missing from the build.
 */
export async function launchWebKit(): Promise<DriverPage> {
  if (!existsSync(MINIBROWSER)) throw new Error(`${MINIBROWSER} is missing: apt-get install webkit2gtk-driver xvfb`);
  const port = await freePort();
  const host = spawn('xvfb-run', ['-a', '-s', '-screen 0 2560x1600x24', 'WebKitWebDriver', `--port=${port}`], {
    stdio: 'ignore',
    detached: true,
    // No sound server runs here: GStreamer's PulseAudio and PipeWire sinks
    // (gstreamer1.0-plugins-good, which WebKitGTK depends on) are left out, and
    // the audio goes to none. They were suspected of the stalls start-stall.ts
    // frees, but videos stalled without them too.
    env: { ...process.env, GST_PLUGIN_FEATURE_RANK: 'pulsesink:NONE,pipewiresink:NONE' },
  });
  const stopHost = (): void => killGroup(host);
  try {
    const capabilities = new Capabilities();
    capabilities.set('browserName', 'MiniBrowser');
    capabilities.set('webkitgtk:browserOptions', {
      binary: MINIBROWSER,
      args: ['--automation', '--enable-webrtc=true', '--enable-media-stream=true', '--enable-mock-capture-devices=true', '--enable-mediasource=true'],
    });
    const driver = await retry(10_000, () => new Builder().usingServer(`http://127.0.0.1:${port}`).withCapabilities(capabilities).build());
    return new DriverPage(driver, 'webkit', stopHost);
  } catch (error) {
    stopHost();
    throw error;
  }
}

/** The driver takes a moment to listen: tries `attempt` until it works or `withinMs` passed. */
async function retry<T>(withinMs: number, attempt: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

function killGroup(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGTERM');
  } catch {
    // Gone already.
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Joins the room open on a WebDriver page as `name`, as a person would: types it and presses Join. */
export async function joinInDriver(page: DriverPage, name: string): Promise<void> {
  await page.waitFor(() => document.querySelector('form input') !== null, undefined, 20_000, 'name form');
  await page.driver.findElement(By.xpath("//label[starts-with(normalize-space(.), 'Your name')]//input")).sendKeys(name);
  await page.driver.findElement(By.xpath("//button[normalize-space(.)='Join']")).click();
  await page.waitFor(
    () => window.cinemeshRoom?.player !== undefined && (window.cinemeshRoom.room.clock.sampleCount ?? 0) >= 3,
    undefined,
    30_000,
    'player and clock in the room',
  );
}
