/**
 * One signal per conversation at a time, carrying every event that gathered for it meanwhile. A signal is the
 * slowest hop of the ingress (a round trip to Temporal and a write to the workflow's history), so while one signal
 * to a conversation is in flight, the events that come for it wait and go together in the next one: the busier a
 * conversation, the fewer signals per event, and two signals of one conversation never race each other out of order.
 */

export interface ConversationMailboxes<E> {
  /**
   * Queues events for their conversation's next signal. Resolves, for each event in the order given, whether the
   * signal carrying it went through.
   */
  post(conversationKey: string, events: E[]): Promise<boolean[]>;
}

interface Letter<E> {
  event: E;
  settle(signalled: boolean): void;
}

interface Mailbox<E> {
  waiting: Array<Letter<E>>;
}

/**
 * `deliver` sends one conversation's gathered events as one signal and throws when it did not go through.
 * `maxInFlight` bounds the signals in flight across all conversations.
 */
export function createConversationMailboxes<E>(deliver: (conversationKey: string, events: E[]) => Promise<void>, maxInFlight: number): ConversationMailboxes<E> {
  /** A conversation is here while it has a signal in flight or waits for a slot; it is queued in `ready` at most once. */
  const mailboxes = new Map<string, Mailbox<E>>();
  const ready: string[] = [];
  let inFlight = 0;

  function startWhatFits(): void {
    while (inFlight < maxInFlight && ready.length > 0) {
      const key = ready.shift()!;
      inFlight += 1;
      void send(key).finally(() => {
        inFlight -= 1;
        startWhatFits();
      });
    }
  }

  async function send(key: string): Promise<void> {
    const mailbox = mailboxes.get(key)!;
    const letters = mailbox.waiting.splice(0);
    try {
      await deliver(key, letters.map((letter) => letter.event));
      for (const letter of letters) letter.settle(true);
    } catch {
      // What gathered behind a failed signal must not overtake it: it fails too, and the sweeper sends all of it
      // again later, in order.
      for (const letter of [...letters, ...mailbox.waiting.splice(0)]) letter.settle(false);
    }
    if (mailbox.waiting.length > 0) ready.push(key);
    else mailboxes.delete(key);
  }

  return {
    post(key, events) {
      if (events.length === 0) return Promise.resolve([]);
      const outcomes = events.map((event) => {
        let settle: (signalled: boolean) => void = () => undefined;
        const outcome = new Promise<boolean>((resolve) => {
          settle = resolve;
        });
        return { letter: { event, settle }, outcome };
      });
      const existing = mailboxes.get(key);
      const mailbox = existing ?? { waiting: [] };
      mailbox.waiting.push(...outcomes.map(({ letter }) => letter));
      if (existing === undefined) {
        mailboxes.set(key, mailbox);
        ready.push(key);
        startWhatFits();
      }
      return Promise.all(outcomes.map(({ outcome }) => outcome));
    },
  };
}
