"""An aiosmtpd handler for lexgate's tests: every accepted message goes into a Maildir, with
its envelope in X-MailFrom and X-RcptTo headers, so a test reads what was delivered to whom.
Recipients whose local part starts with "bounce" are refused with a permanent 550 reply.

    python -m aiosmtpd -n -l 127.0.0.1:PORT -c maildir_smtp.MaildirHandler MAILDIR
"""

import mailbox
from email import message_from_bytes


class MaildirHandler:
    def __init__(self, path):
        self.maildir = mailbox.Maildir(path, create=True)

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("MaildirHandler takes the Maildir's path")
        return cls(args[0])

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@")[0].startswith("bounce"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = message_from_bytes(envelope.original_content or envelope.content)
        message["X-MailFrom"] = envelope.mail_from
        message["X-RcptTo"] = ", ".join(envelope.rcpt_tos)
        self.maildir.add(message)
        return "250 Message accepted for delivery"
