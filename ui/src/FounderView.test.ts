import type { InvokeArgs } from '@tauri-apps/api/core';
import { mockIPC } from '@tauri-apps/api/mocks';
import { fireEvent, render, screen, waitFor, within } from '@testing-library/svelte';
import userEvent from '@testing-library/user-event';
import { beforeEach, describe, expect, it } from 'vitest';

import App from './App.svelte';
import type { LetterDraft } from './lib/bindings/LetterDraft';
import type { LetterOverview } from './lib/bindings/LetterOverview';
import type { LetterPreview } from './lib/bindings/LetterPreview';
import type { LetterProgress } from './lib/bindings/LetterProgress';
import type { LetterSetup } from './lib/bindings/LetterSetup';
import { snapshot } from './test/fixtures';

const TEMPLATE: LetterDraft = {
  subject: 'About the outage, and what we are doing about it',
  body: '{% if name %}Dear {{ name }},{% else %}Hello,{% endif %}\n\nI am sorry.\n',
  listPath: '',
  segments: '',
  plans: '',
  components: '',
  via: null,
  slaMonth: '',
};

const SETUP: LetterSetup = {
  via: 'email',
  vias: ['email', 'intercom'],
  from: 'Alice Smith <alice@acme.test>',
  replyTo: 'Alice Smith <alice@acme.test>',
  testTo: 'alice@acme.test',
  rate: '60/s',
  warnings: ['no DKIM signature (`dkim_key`, `dkim_selector`): receiving providers are more likely to file the letter as spam'],
};

const INTERCOM: LetterSetup = {
  ...SETUP,
  via: 'intercom',
  from: 'Intercom admin 814860',
  replyTo: "the admin's Intercom inbox",
  rate: '10/s',
  warnings: [],
};

const CUSTOMERS = ['Ada Lovelace', 'Bob Marley', 'Cy Young'];

function preview(draft: LetterDraft, index: number): LetterPreview {
  if (draft.body.includes('{{ tier }}')) {
    throw {
      code: 'invalid_letter',
      message: 'the letter: the letter uses {{ tier }}, but the list has no `tier` column (its columns: email, name, company)',
    };
  }
  if (draft.listPath === '') {
    return {
      subject: draft.subject,
      html: '<p>Dear ‹name›,</p>',
      text: 'Dear ‹name›,',
      recipient: null,
      index: 0,
      count: 0,
      columns: [],
      skipped: [],
      skippedCount: 0,
      filteredOut: 0,
      seconds: null,
      earlier: null,
    };
  }
  const i = Math.min(index, 799);
  const name = CUSTOMERS[i % CUSTOMERS.length];
  return {
    subject: draft.subject,
    html: `<p>Dear ${name},</p><p>I am <strong>sorry</strong>. <a href="https://acme.test/status">Status</a></p>`,
    text: `Dear ${name},\n\nI am sorry.`,
    recipient: { email: `c${i}@example.test`, name, line: i + 2 },
    index: i,
    count: 800,
    columns: ['email', 'name', 'company'],
    skipped: [{ line: 803, reason: '"bob@" is not an email address' }],
    skippedCount: 1,
    filteredOut: 0,
    seconds: 14,
    earlier: null,
  };
}

function progress(over: Partial<LetterProgress> = {}): LetterProgress {
  return {
    id: 4,
    subject: TEMPLATE.subject,
    listName: '/home/alice/customers.csv',
    sender: SETUP.from,
    state: 'sending',
    pausedReason: null,
    total: 800,
    accepted: 0,
    failed: 0,
    bounced: 0,
    left: 800,
    resent: 0,
    running: true,
    perSecond: 0,
    etaSeconds: 14,
    error: null,
    undelivered: [],
    ...over,
  };
}

type Call = { cmd: string; args: Record<string, unknown> };

function shell(over: Partial<LetterOverview> = {}, progressOf: (calls: Call[]) => LetterProgress = () => progress()) {
  const calls: Call[] = [];
  let kept: LetterDraft = TEMPLATE;
  mockIPC((cmd, args: InvokeArgs | undefined) => {
    const a = (args ?? {}) as Record<string, unknown>;
    calls.push({ cmd, args: a });
    switch (cmd) {
      case 'get_snapshot':
        return snapshot();
      case 'get_letter_overview':
        return { setup: kept.via === 'intercom' ? INTERCOM : SETUP, setupError: null, draft: kept, letters: [], ...over };
      case 'preview_letter':
        return preview(a.draft as LetterDraft, a.index as number);
      case 'save_letter_draft':
        kept = a.draft as LetterDraft;
        return null;
      case 'send_test_letter':
        return { to: a.to, asRecipient: `c${a.index as number}@example.test`, reply: '250 2.0.0 queued as 1.eml' };
      case 'start_letter':
        return progress();
      case 'get_letter_progress':
      case 'pause_letter':
      case 'resume_letter':
      case 'cancel_letter':
        return progressOf(calls);
      default:
        throw { code: 'unknown_command', message: `no ${cmd}` };
    }
  });
  return calls;
}

describe('the letter to every customer', () => {
  beforeEach(() => localStorage.clear());

  it('goes from a finished draft to a confirmed send of 800 in two actions, after a preview per customer and a test', async () => {
    const user = userEvent.setup();
    const calls = shell();
    render(App);
    await user.click(await screen.findByTestId('view-founder'));
    const composer = await screen.findByTestId('letter-composer');
    expect(within(composer).getByTestId<HTMLInputElement>('letter-subject').value).toBe(TEMPLATE.subject);
    expect(within(composer).getByTestId('letter-from')).toHaveTextContent('Replies go to your mailbox');
    // Without a list, the variables show as placeholders.
    expect(await screen.findByTestId('letter-preview-body')).toHaveTextContent('Dear ‹name›,');

    const list = within(composer).getByTestId('letter-list');
    await fireEvent.input(list, { target: { value: '/home/alice/customers.csv' } });
    await waitFor(() => expect(screen.getByTestId('letter-count')).toHaveTextContent('800 customers; 1 row skipped'));
    expect(screen.getByTestId('letter-skipped')).toHaveTextContent('line 803: "bob@" is not an email address');
    expect(screen.getByTestId('letter-recipient')).toHaveTextContent('1 of 800: Ada Lovelace <c0@example.test>');
    expect(screen.getByTestId('letter-preview-body')).toHaveTextContent('Dear Ada Lovelace,');
    await user.click(screen.getByTestId('letter-next'));
    await waitFor(() => expect(screen.getByTestId('letter-recipient')).toHaveTextContent('2 of 800: Bob Marley'));
    expect(screen.getByTestId('letter-preview-body')).toHaveTextContent('Dear Bob Marley,');
    // A link in the letter does not take the window away.
    const link = within(screen.getByTestId('letter-preview-body')).getByText('Status');
    const click = new MouseEvent('click', { bubbles: true, cancelable: true });
    link.dispatchEvent(click);
    expect(click.defaultPrevented).toBe(true);

    expect(screen.getByTestId<HTMLInputElement>('letter-test-to').value).toBe('alice@acme.test');
    await user.click(screen.getByTestId('letter-test'));
    expect(await screen.findByTestId('letter-test-result')).toHaveTextContent(
      "Test sent to alice@acme.test (c1@example.test's letter): 250 2.0.0 queued as 1.eml",
    );

    // The draft is finished: from here, every action counts.
    let actions = 0;
    await user.click(screen.getByTestId('letter-send'));
    actions++;
    const confirm = await screen.findByTestId('letter-confirm');
    expect(within(confirm).getByTestId('letter-confirm-line')).toHaveTextContent(
      'Send to 800 customers from Alice Smith <alice@acme.test> at 60/s (about 14 s)',
    );
    expect(within(confirm).getByTestId('letter-warning')).toHaveTextContent('no DKIM signature');
    expect(confirm).toHaveTextContent('Replies go to your mailbox');
    await user.click(within(confirm).getByTestId('letter-confirm-send'));
    actions++;
    expect(await screen.findByTestId('letter-run')).toBeInTheDocument();
    expect(actions).toBeLessThanOrEqual(4);
    const start = calls.find((c) => c.cmd === 'start_letter');
    expect(start?.args).toMatchObject({ expected: 800, draft: { listPath: '/home/alice/customers.csv' } });
    // The draft was kept before the send.
    expect(calls.some((c) => c.cmd === 'save_letter_draft')).toBe(true);
  });

  it('sends through Intercom when chosen: the sender and where replies go change with it', async () => {
    const user = userEvent.setup();
    const calls = shell();
    render(App);
    await user.click(await screen.findByTestId('view-founder'));
    const from = await screen.findByTestId('letter-from');
    expect(from).toHaveTextContent('From Alice Smith <alice@acme.test>');
    await user.selectOptions(screen.getByTestId('letter-via'), 'intercom');
    await waitFor(() => expect(screen.getByTestId('letter-from')).toHaveTextContent('From Intercom admin 814860'));
    expect(screen.getByTestId('letter-from')).toHaveTextContent("Replies go to the admin's Intercom inbox, not to Foghorn.");
    const saves = calls.filter((c) => c.cmd === 'save_letter_draft');
    expect(saves.at(-1)?.args.draft).toMatchObject({ via: 'intercom' });
    await fireEvent.input(screen.getByTestId('letter-list'), { target: { value: '/home/alice/customers.csv' } });
    await waitFor(() => expect(screen.getByTestId('letter-count')).toHaveTextContent('800 customers'));
    await user.click(screen.getByTestId('letter-send'));
    expect(within(await screen.findByTestId('letter-confirm')).getByTestId('letter-confirm-line')).toHaveTextContent(
      'Send to 800 customers from Intercom admin 814860 at 10/s',
    );
  });

  it('previews and keeps the SLA month the credit and downtime are measured over', async () => {
    const calls = shell();
    render(App);
    await fireEvent.click(await screen.findByTestId('view-founder'));
    const month = await screen.findByTestId<HTMLInputElement>('letter-sla-month');
    await fireEvent.input(month, { target: { value: '2026-11' } });
    await waitFor(() =>
      expect(calls.filter((c) => c.cmd === 'preview_letter').at(-1)?.args.draft).toMatchObject({ slaMonth: '2026-11' }),
    );
    await waitFor(
      () => expect(calls.filter((c) => c.cmd === 'save_letter_draft').at(-1)?.args.draft).toMatchObject({ slaMonth: '2026-11' }),
      { timeout: 3000 },
    );
  });

  it('keeps the draft a second after typing stops', async () => {
    const calls = shell();
    render(App);
    await fireEvent.click(await screen.findByTestId('view-founder'));
    const subject = await screen.findByTestId('letter-subject');
    await fireEvent.input(subject, { target: { value: 'About Tuesday' } });
    await fireEvent.input(subject, { target: { value: 'About Tuesday’s outage' } });
    expect(screen.getByTestId('letter-saved')).toHaveAttribute('data-state', 'unsaved');
    await waitFor(() => expect(screen.getByTestId('letter-saved')).toHaveAttribute('data-state', 'saved'), { timeout: 3000 });
    const saves = calls.filter((c) => c.cmd === 'save_letter_draft');
    expect(saves).toHaveLength(1);
    expect(saves[0].args.draft).toMatchObject({ subject: 'About Tuesday’s outage' });
  });

  it('names what is wrong with the letter', async () => {
    shell();
    render(App);
    await fireEvent.click(await screen.findByTestId('view-founder'));
    const body = await screen.findByTestId('letter-body');
    await fireEvent.input(body, { target: { value: 'Hello {{ tier }}' } });
    expect(await screen.findByTestId('letter-error')).toHaveTextContent('no `tier` column');
  });

  it('shows the progress, pauses, resumes, and lists who the letter did not reach', async () => {
    const user = userEvent.setup();
    let phase: 'sending' | 'paused' | 'done' = 'sending';
    const calls = shell({ letters: [progress({ accepted: 300, left: 500, perSecond: 58, etaSeconds: 9 })] }, (all) => {
      const last = all[all.length - 1].cmd;
      if (last === 'pause_letter') phase = 'paused';
      if (last === 'resume_letter') phase = 'done';
      if (phase === 'paused') return progress({ state: 'paused', running: false, pausedReason: 'paused', accepted: 320, left: 480 });
      if (phase === 'done')
        return progress({
          state: 'done',
          running: false,
          accepted: 798,
          bounced: 2,
          left: 0,
          undelivered: [
            { email: 'bob@example.test', state: 'bounced', reason: '550 5.1.1 no such user', attempts: 1 },
            { email: 'eve@example.test', state: 'bounced', reason: '550 5.1.1 no such user', attempts: 1 },
          ],
        });
      return progress({ accepted: 300, left: 500, perSecond: 58, etaSeconds: 9 });
    });
    localStorage.setItem('foghorn.view', 'founder');
    render(App);
    const run = await screen.findByTestId('letter-run');
    expect(within(run).getByTestId('letter-progress')).toHaveTextContent('300 sent · 0 failed · 500 left · about 9 s left');
    await user.click(within(run).getByTestId('letter-pause'));
    await waitFor(() => expect(within(run).getByTestId('letter-state')).toHaveTextContent('Paused: 320 of 800 sent'));
    await user.click(within(run).getByTestId('letter-resume'));
    await waitFor(() => expect(within(run).getByTestId('letter-state')).toHaveTextContent('Done: 798 of 800 sent; 2 not delivered'));
    expect(within(run).getAllByTestId('letter-undelivered-row')).toHaveLength(2);
    expect(within(run).getByTestId('letter-undelivered')).toHaveTextContent('550 5.1.1 no such user');
    expect(calls.filter((c) => c.cmd === 'pause_letter' || c.cmd === 'resume_letter').map((c) => c.args.id)).toEqual([4, 4]);
  });

  it('asks before cancelling', async () => {
    const user = userEvent.setup();
    const calls = shell({ letters: [progress({ state: 'paused', running: false, accepted: 400, left: 400 })] }, () =>
      progress({ state: 'cancelled', running: false, accepted: 400, left: 400 }),
    );
    localStorage.setItem('foghorn.view', 'founder');
    render(App);
    const run = await screen.findByTestId('letter-run');
    // A letter paused before the window opened: Resume is there.
    expect(within(run).getByTestId('letter-resume')).toBeInTheDocument();
    await user.click(within(run).getByTestId('letter-cancel'));
    expect(calls.some((c) => c.cmd === 'cancel_letter')).toBe(false);
    await user.click(within(run).getByTestId('letter-cancel-confirm'));
    await waitFor(() => expect(within(run).getByTestId('letter-state')).toHaveTextContent('Cancelled: 400 of 800 sent; the other 400'));
  });

  it('without [smtp] the letter is written and previewed, and says how to send it', async () => {
    shell({ setup: null });
    localStorage.setItem('foghorn.view', 'founder');
    render(App);
    expect(await screen.findByTestId('letter-no-smtp')).toHaveTextContent('[smtp]');
    expect(await screen.findByTestId('letter-preview-body')).toBeInTheDocument();
    expect(screen.queryByTestId('letter-send')).toBeNull();
  });
});
