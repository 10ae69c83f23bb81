import { describe, expect, it } from 'vitest';

import { incident, monitor, snapshot } from '../test/fixtures';
import { FoghornStore } from './store.svelte';

describe('FoghornStore', () => {
  it('goes loading → ready, applying events that arrived before the snapshot', () => {
    const store = new FoghornStore();
    expect(store.phase).toBe('loading');
    store.apply({ type: 'monitor', monitor: monitor({ id: 'api', status: 'down' }) });
    expect(store.snapshot).toBeNull();
    store.loaded(snapshot());
    expect(store.phase).toBe('ready');
    expect(store.snapshot?.monitors[0].status).toBe('down');
  });

  it('goes loading → error → loading on retry', () => {
    const store = new FoghornStore();
    store.failed({ code: 'engine', message: 'not running', field: null });
    expect(store.phase).toBe('error');
    expect(store.loadError?.message).toBe('not running');
    store.startLoading();
    expect(store.phase).toBe('loading');
  });

  it('applies events, mute and paused answers once ready', () => {
    const store = new FoghornStore();
    store.loaded(snapshot());
    store.apply({ type: 'summary', summary: 'changed' });
    store.setMute({ kind: 'indefinite' });
    store.setPaused(true);
    expect(store.snapshot?.summary).toBe('changed');
    expect(store.snapshot?.mute).toEqual({ kind: 'indefinite' });
    expect(store.snapshot?.paused).toBe(true);
  });

  it('applies alerts and ringing, also when they arrive before the snapshot', () => {
    const store = new FoghornStore();
    store.apply({ type: 'alert', incident: incident({ id: 7, title: 'db is down' }) });
    store.apply({ type: 'ringing', incidents: [7] });
    store.loaded(snapshot({ onCall: true }));
    expect(store.snapshot?.incidents.map((i) => i.id)).toEqual([7]);
    expect(store.snapshot?.ringing).toEqual([7]);
    store.apply({ type: 'ringing', incidents: [] });
    expect(store.snapshot?.ringing).toEqual([]);
    expect(store.snapshot?.onCall).toBe(true);
  });

  it('hides dismissed notices, and keeps them hidden when sent again', () => {
    const store = new FoghornStore();
    store.loaded(snapshot({ notices: ['a', 'b'] }));
    expect(store.visibleNotices).toEqual(['a', 'b']);
    store.dismissNotice('a');
    expect(store.visibleNotices).toEqual(['b']);
    store.apply({ type: 'notice', notice: 'a' });
    store.apply({ type: 'notice', notice: 'c' });
    expect(store.visibleNotices).toEqual(['b', 'c']);
  });
});
