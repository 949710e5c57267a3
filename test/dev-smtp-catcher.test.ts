/**
 * The dev outbox's SMTP catcher outlives its clients: one that resets its connection in the
 * middle of a message (a worker SIGKILLed while sending, as the chaos test does) must not take
 * the catcher's process down; the next message is filed as usual.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { connect } from 'node:net';
import { test } from 'node:test';
import nodemailer from 'nodemailer';
import { startSmtpCatcher } from '../dev/outbox.js';

test('an SMTP client that resets its connection mid-message leaves the catcher filing the next message', async () => {
  const filed: unknown[] = [];
  const catcher = await startSmtpCatcher({ add: (item) => filed.push(item.body) });
  try {
    const { hostname, port } = new URL(catcher.url);
    const socket = connect(Number(port), hostname);
    await once(socket, 'data'); // the greeting
    socket.write('EHLO chaos\r\n');
    await once(socket, 'data');
    socket.write('MAIL FROM:<idflow@example.com>\r\n'); // inside a transaction: smtp-server ignores resets only outside one
    await once(socket, 'data');
    socket.resetAndDestroy(); // RST: the server's next read fails with ECONNRESET
    await once(socket, 'close');

    const transport = nodemailer.createTransport({ host: hostname, port: Number(port), secure: false, ignoreTLS: true });
    await transport.sendMail({ from: 'idflow@example.com', to: 'ada@example.com', subject: 'after the reset', text: 'still here' });
    assert.deepEqual(
      filed.map((body) => (body as { subject: string }).subject),
      ['after the reset'],
    );
  } finally {
    await catcher.close();
  }
});
