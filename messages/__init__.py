"""What the client and the owner read: French/English templates, drafts (subject, text, HTML), SMS, call scripts,
the formal-notice letter.

Rendering only: sending a draft is `messages.delivery`'s job.
"""
