import { mount } from 'svelte';

import App from './App.svelte';
import { inShell } from './lib/api';
import './app.css';

/**
 * Outside the Foghorn shell (a plain browser) the page can show sample data with `?demo`
 * (see src/lib/demo.ts). Inside the shell (`__TAURI_INTERNALS__` present) this never runs.
 */
async function maybeInstallDemo(params: URLSearchParams): Promise<boolean> {
  if (inShell() || !params.has('demo')) return false;
  const { installDemo } = await import('./lib/demo');
  installDemo(params.get('demo') ?? '');
  return true;
}

async function start(): Promise<void> {
  const params = new URLSearchParams(window.location.search);
  let demo = false;
  try {
    demo = await maybeInstallDemo(params);
  } catch (err) {
    console.error('demo mode failed to start', err);
  }
  const target = document.getElementById('app');
  if (!target) return;
  // `&tab=incidents` opens the demo on the Incidents tab (for screenshots).
  const initialTab = demo && params.get('tab') === 'incidents' ? 'incidents' : 'monitors';
  mount(App, { target, props: { initialTab } });
}

void start();
