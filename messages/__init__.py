"""What the client and the owner read, and how it leaves: French/English templates, drafts (subject, text, HTML),
SMS, call scripts, the formal-notice letter and the evidence summary PDFs; the transports (SMTP, MIME building,
the one e-mail address check).

Rule: rendering and transports only. Imports `dunning` and nothing else of ours: no database, no chat, no settings.
"""
