"""The owner-facing text of the bot and the terminal, French first and English second, in one catalogue.

Values are `str.format` templates. In the chat they are sent with HTML parse mode, so every value substituted
into them that comes from data (client names, reasons, subjects) must be escaped by the caller (cards.py does).
"""

from __future__ import annotations

from typing import Any

from messages.states import PROMISED_UNTIL, STATE_LABELS

FR: dict[str, str] = {
    # access and errors
    "private": "Ce bot est privé.",
    "error": "Désolé, une erreur inattendue s'est produite. Elle a été notée ; réessayez dans un instant.",
    "unknown_command": "Je ne connais pas cette commande. Tapez /aide pour la liste des commandes.",
    "unknown_text": "Je n'attends pas de texte pour l'instant. Tapez /aide pour voir ce que je sais faire.",
    # buttons
    "btn.send": "✅ Envoyer",
    "btn.edit": "✏️ Modifier",
    "btn.snooze": "⏰ Reporter",
    "btn.paid": "💶 Payée",
    "btn.dispute": "⚖️ Litige",
    "btn.promise": "🤝 Promesse",
    "btn.more": "📄 Voir la suite",
    "btn.back": "↩️ Retour",
    "btn.cancel": "↩️ Annuler",
    "btn.snooze1": "+1 j",
    "btn.snooze3": "+3 j",
    "btn.snooze7": "+7 j",
    "btn.snooze_date": "📅 Autre date",
    "btn.pay_full": "💶 Payée en totalité",
    "btn.pay_partial": "💶 Paiement partiel",
    "btn.send_now": "📤 Envoyer maintenant",
    "btn.call": "📞 Script d'appel",
    "btn.pdf": "📄 Lettre PDF",
    # --- payment plans (échéancier): bot/plan_cards.py, services.plans ---
    "btn.plan": "📅 Échéancier",
    "plan.title": "📅 <b>Échéancier pour {client}</b>",
    "plan.invoices": "Factures : {numbers} — reste dû {total}",
    "plan.count": "En {count} mensualités :",
    "plan.typed": "Échéancier saisi ({count} échéances) :",
    "plan.line": "• {day} : {amount}",
    "plan.hint": (
        "Choisissez le nombre d'échéances, ou « Modifier » pour saisir vos dates et montants. « Préparer l'e-mail » "
        "rédige le courriel au client, à relire et envoyer comme une relance : l'échéancier démarre à son envoi."
    ),
    "plan.btn.count": "{count}×",
    "plan.btn.count_current": "· {count}× ·",
    "plan.btn.edit": "✏️ Modifier",
    "plan.btn.prepare": "📧 Préparer l'e-mail",
    "plan.ask": (
        "✏️ Tapez l'échéancier, une échéance par ligne, la date puis le montant, par exemple :\n<code>{example}</code>\n"
        "Le total doit faire {total}. Le courriel sera préparé aussitôt. /annuler pour arrêter."
    ),
    "plan.proposed": (
        "📧 Échéancier de {count} échéances préparé : le courriel au client est ci-dessous, à relire et envoyer. "
        "Les relances de ces factures s'arrêtent à son envoi."
    ),
    "plan.prepared": "📧 Courriel de l'échéancier préparé (ci-dessous).",
    "plan.nothing": "Aucune facture de cette relance ne peut être étalée (payée, en litige ou déjà en échéancier).",
    "plan.draft_failed": "Le courriel de l'échéancier n'a pas pu être rédigé ; rien n'a été enregistré.",
    "plan.ended": "⏹️ Échéancier terminé : les relances reprennent pour {numbers}.",
    "plan.unknown_invoice": "Facture inconnue.",
    "plan.not_plannable": (
        "La facture {number} ne peut pas être mise en échéancier (payée, en litige ou passée en perte)."
    ),
    "plan.not_in_plan": "La facture {number} ne suit aucun échéancier en cours.",
    "plan.not_proposed": "Cet échéancier n'est plus en attente.",
    "plan.err.count": "Un échéancier compte de {low} à {high} échéances (ici {count}).",
    "plan.err.too_small": "{balance} ne se répartit pas en {count} échéances d'au moins un centime.",
    "plan.err.amount": "Échéance {number} : le montant doit être positif (ici {amount}).",
    "plan.err.cents": "Échéance {number} : le montant {amount} a plus de deux décimales.",
    "plan.err.past": "Échéance {number} : la date du {day} doit être postérieure à aujourd'hui.",
    "plan.err.too_far": "Échéance {number} : le {day} tombe plus de deux ans après aujourd'hui.",
    "plan.err.order": "Échéance {number} : le {day} doit venir après l'échéance précédente ({previous}).",
    "plan.err.total": "Les échéances font {total} au total, mais il reste {balance} à payer (écart : {gap}).",
    "plan.err.empty": "L'échéancier est vide : tapez une échéance par ligne, la date puis le montant.",
    "plan.err.line": "Ligne {number} (« {text} ») : écrivez la date puis le montant, par exemple 15/01/2027 500,00.",
    "plan.err.line_date": "Ligne {number} (« {text} ») : la date n'est pas valide ; écrivez-la JJ/MM/AAAA.",
    "plan.err.line_amount": "Ligne {number} (« {text} ») : le montant n'est pas valide ; écrivez par exemple 500,00.",
    "plan.summary": "📅 Échéancier en cours ({numbers}) : {paid} payés sur {total}, {done}/{count} échéances réglées.",
    "plan.next": "Prochaine échéance : le {day}, {amount}.",
    "plan.late": "⚠️ Échéances en retard : {count}, soit {amount}.",
    "plan.suffix": " · 📅 prochaine échéance le {day} ({amount})",
    "slack.plan.title": "Échéancier",
    "slack.plan.count": "Nombre de mensualités égales",
    "slack.plan.schedule": "Ou vos échéances, une par ligne",
    "slack.plan.hint": "La date puis le montant, par exemple 15/01/2027 500,00 ; le total doit faire {total}.",
    "slack.plan.submit": "Préparer l'e-mail",
    "state.plan": "📅 Échéancier en cours : plus de relance pour ces factures tant qu'il est suivi.",
    "card.call_first": "📞 Client important : un appel de votre part d'abord est conseillé (script d'appel).",
    "btn.resend": "🔁 Renvoyer quand même",
    "btn.sent_ok": "✅ Bien parti",
    # callback answers
    "cb.already": "Déjà traité.",
    "cb.unknown": "Ce bouton n'est pas reconnu ; rien n'a été fait.",
    # several businesses behind one bot: /entreprise
    "biz.pick": "Vous gérez plusieurs entreprises. Laquelle voulez-vous suivre ? (actuellement : {name})",
    "biz.only": "Vous gérez une seule entreprise : {name}.",
    "biz.chosen": "C'est noté : les commandes et les boutons concernent désormais {name}.",
    "cb.sending": "Envoi en cours…",
    "cb.done": "C'est fait.",
    "cb.paid": "Paiement enregistré.",
    "cb.choose": "Choisissez une option.",
    # digest and cards
    "digest.header": (
        "☀️ <b>{count} relance(s) attendent votre accord</b>\nEn retard au total : {overdue} · encours : {open}"
    ),
    "digest.nothing": "☀️ Rien à relancer aujourd'hui. Encours : {open}, dont {overdue} en retard.",
    "digest.paused": "⏸️ Les relances sont en pause (voir /parametres). Encours : {open}, dont {overdue} en retard.",
    "digest.footer": "Empreinte du journal de preuves : <code>{head}</code>",
    "digest.uncertain": (
        "⚠️ <b>{count} envoi(s) au statut incertain</b> : la relance de ces clients est suspendue. Vérifiez vos "
        "messages envoyés (ou demandez au client), puis indiquez « Bien parti » ou « Renvoyer quand même »."
    ),
    "digest.missed": (
        "⚠️ <b>Le résumé d'hier n'a pas pu être envoyé</b> avant la fin de la plage d'envoi (limite d'envoi de "
        "Telegram ou service arrêté). Ses relances encore en attente figurent ci-dessous."
    ),
    "digest.missed_day": (
        "⚠️ <b>Le résumé du {day} n'a pas pu être envoyé</b> avant la fin de la plage d'envoi (limite d'envoi de "
        "Telegram ou service arrêté). Ses relances encore en attente figurent ci-dessous."
    ),
    "confirm.done": "C'est noté : la relance compte comme envoyée, la suite est programmée.",
    "step.pre_reminder": "Pré-relance",
    "step.reminder_1": "Relance 1",
    "step.reminder_2": "Relance 2",
    "step.formal_notice": "Mise en demeure",
    "step.promise_broken": "Promesse non tenue",
    "card.title": "<b>{client}</b> · {step}",
    "card.promise_broken": "🤝❌ La promesse de paiement n'a pas été tenue : étape suivante proposée.",
    "card.invoice": "📄 {number} · {balance} · échéance {due}{late}",
    "card.late": " · <b>{days} j de retard</b>",
    "card.not_yet_due": " · dans {days} j",
    "card.total": "Total dû : <b>{total}</b>",
    "card.to": "✉️ À : {to}",
    "card.no_email": "✉️ Aucune adresse e-mail connue pour ce client.",
    "card.subject": "<b>Objet :</b> {subject}",
    "card.edited": "✏️ Texte modifié par vous.",
    "card.cut": "… (suite avec « Voir la suite »)",
    "card.failed": "❌ Le dernier envoi a échoué : {reason}",
    "card.draft_broken": (
        "⛔ Le message n'a pas pu être rédigé, il ne peut donc pas être envoyé : {reason}\n"
        "Corrigez le modèle, puis /digest."
    ),
    "draft.broken": "⛔ Rien n'a été envoyé : le message n'a pas pu être rédigé ({reason}).",
    "state.sent": "✅ Envoyé le {day} à {time} à {to}",
    "state.scheduled": "🕗 Approuvé : partira le {day} à {time} (plage d'envoi).",
    "state.queued": "📤 Approuvé, envoi en cours…",
    "state.deferred": "🕗 Le serveur d'envoi a différé le message ({reason}) : nouvel essai le {day} à {time}.",
    "state.unknown": (
        "⚠️ Statut incertain : le serveur a peut-être reçu le message. Vérifiez vos messages envoyés : "
        "« Bien parti » s'il est bien parti, sinon « Renvoyer quand même »."
    ),
    "state.snoozed": "⏰ Reportée au {day}.",
    "state.cancelled": "✔️ Plus rien à relancer (payée, en litige ou promesse).",
    "state.paid": "💶 Payée.",
    "state.disputed": "⚖️ En litige : {reason}",
    "state.promised": "🤝 Promesse de paiement au {day}.",
    "state.other": "État : {state}",
    "send.failed": "❌ L'envoi a échoué : {reason}\nLa relance reste en attente ; vous pouvez réessayer.",
    "send.no_email": "Ce client n'a pas d'adresse e-mail : ajoutez-la (import CSV) avant d'envoyer.",
    "send.no_sender": "Aucune adresse d'expédition : renseignez MAIL_FROM dans la configuration.",
    # questions (conversations)
    "ask.edit": (
        "✏️ Envoyez le nouveau texte du message.\n"
        "Une première ligne « Objet: … » remplace aussi l'objet. /annuler pour abandonner."
    ),
    "ask.dispute": "⚖️ En quelques mots, quel est le motif du litige ? /annuler pour abandonner.",
    "ask.promise": (
        "🤝 À quelle date le client a-t-il promis de payer ? (JJ/MM ou JJ/MM/AAAA) /annuler pour abandonner."
    ),
    "ask.snooze_date": "📅 Jusqu'à quelle date reporter ? (JJ/MM ou JJ/MM/AAAA) /annuler pour abandonner.",
    "ask.amount": "💶 Quel montant avez-vous reçu ? (par exemple 450,00) /annuler pour abandonner.",
    "ask.cancelled": "D'accord, rien n'a été modifié.",
    "ask.nothing": "Il n'y a rien à annuler.",
    "edit.saved": "✏️ Nouveau texte enregistré. Vérifiez-le puis envoyez :",
    "edit.too_long": (
        "Ce texte est trop long ({length} caractères) : {limit} au plus. Rien n'a été modifié. "
        "Appuyez de nouveau sur ✏️ Modifier pour envoyer un texte plus court, en un seul message."
    ),
    "edit.empty": "Le texte est vide. Envoyez le nouveau texte, ou /annuler.",
    "edit.bad_subject": "L'objet doit tenir sur une ligne de {limit} caractères au plus. Rien n'a été modifié.",
    "edit.undone": "Texte d'origine rétabli.",
    "dispute.saved": "⚖️ Litige enregistré : les relances de ces factures sont suspendues jusqu'à sa clôture.",
    "dispute.too_long": "Motif trop long ({length} caractères) : {limit} au plus. Rien n'a été modifié.",
    "dispute.empty": "Indiquez un motif (quelques mots), ou /annuler.",
    "promise.saved": "🤝 Promesse notée : pas de relance avant le {day}. Si rien n'arrive, je vous le signalerai.",
    "snooze.saved": "⏰ Reportée au {day}.",
    "date.invalid": "« {text} » n'est pas une date valide. Écrivez-la JJ/MM ou JJ/MM/AAAA, par exemple 05/12/2026.",
    "date.past": "Le {day} est déjà passé : donnez une date à venir.",
    "date.too_far": "Le {day} est trop loin (un an au plus).",
    "amount.invalid": "« {text} » n'est pas un montant valide. Écrivez par exemple 450,00.",
    "amount.not_positive": "Le montant doit être supérieur à zéro.",
    "amount.too_much": "Ce montant dépasse ce qui reste dû ({owed}). Rien n'a été enregistré.",
    "pay.saved": "💶 Paiement de {amount} enregistré. Reste dû : {left}.",
    "pay.saved_full": "💶 Paiement de {amount} enregistré : facture(s) soldée(s), relances arrêtées.",
    "action.failed": "Impossible : {reason}",
    # --- drafts outside the ladder (issue 10: thanks, penalty claim, plan schedule, plan reminder) ---
    "step.thanks": "🙏 Remerciement",
    "step.penalty_claim": "⚖️ Réclamation des pénalités",
    "step.plan_schedule": "📅 Échéancier proposé",
    "step.plan_reminder": "⏰ Échéance manquée",
    "card.extra_invoice": "📄 {number} · {amount} · échéance {due}{left}",
    "card.extra_paid": " · réglée",
    "card.extra_left": " · reste dû {balance}",
    "btn.drop": "🗑 Ne pas envoyer",
    "drop.done": "🗑 Brouillon abandonné : rien ne sera envoyé.",
    "state.dropped": "🗑 Non envoyé : brouillon abandonné.",
    "extra.unknown_invoice": "Facture inconnue : rien n'a été préparé.",
    "extra.unknown_client": "Client inconnu : rien n'a été préparé.",
    "extra.unknown_plan": "Échéancier inconnu : rien n'a été préparé.",
    "extra.consumer": (
        "La facture {number} est celle d'un particulier : ni pénalités de retard commerciales ni indemnité "
        "forfaitaire ne peuvent lui être réclamées."
    ),
    "extra.not_claimable": (
        "La facture {number} n'a pas été réglée en retard, ou pas entièrement : il n'y a pas de pénalités à réclamer."
    ),
    "extra.no_plan": "La facture {number} ne suit aucun échéancier en cours.",
    "extra.plan_not_proposed": "Cet échéancier n'est plus à proposer : il a déjà été envoyé, terminé ou annulé.",
    "extra.plan_same_day": "Un autre échéancier a déjà été proposé aujourd'hui à ce client : abandonnez-le d'abord.",
    "payments.thanks": "🙏 {count} brouillon(s) « merci » à valider.",
    # commands
    "start": (
        "👋 Bonjour ! Je suis <b>Relance</b>, votre assistant pour les factures impayées.\n\n"
        "Chaque matin à {digest_time}, je vous envoie les relances du jour. Pour chacune, un bouton suffit : "
        "✅ Envoyer, ✏️ Modifier, ⏰ Reporter, 💶 Payée, ⚖️ Litige ou 🤝 Promesse.\n\n"
        "<b>Premiers pas</b>\n"
        "1. Envoyez /import puis votre fichier CSV de factures.\n"
        "2. Tapez /digest pour voir les relances du jour.\n"
        "3. Tapez /status pour le tableau de bord.\n\n"
        "Toutes les commandes : /aide"
    ),
    "help": (
        "<b>Commandes</b>\n"
        "/digest : les relances du jour\n"
        "/status : encours, retards, principaux débiteurs, 7 prochains jours, graphique\n"
        "/factures [client] : les factures ouvertes\n"
        "/client NOM : les factures et l'historique d'un client\n"
        "/payee NUMERO [montant] : enregistrer un paiement\n"
        "/import : importer un fichier CSV de factures\n"
        "/preuves NUMERO : le dossier de preuves d'une facture (ZIP)\n"
        "/litiges : les litiges en cours (reprendre les relances ou passer en perte)\n"
        "/taches : les questions de Relance (trop-perçus, pénalités, promesses, échéances, avoirs)\n"
        "/reponses : les réponses des clients par e-mail et les courriels non distribués à traiter\n"
        "/virements : les virements des relevés bancaires dont la facture reste à confirmer\n"
        "/reprendre NUMERO : clore le litige d'une facture et reprendre ses relances\n"
        "/parametres : heure du récapitulatif, pause\n"
        "/taux [SEMESTRE TAUX] : les taux de la BCE des derniers semestres, ou en ajouter un (/taux 2026-H2 2,15)\n"
        "/annuler : abandonner la question en cours\n\n"
        "<b>Boutons des relances</b>\n"
        "✅ Envoyer l'e-mail · ✏️ Modifier le texte · ⏰ Reporter · 💶 Payée · ⚖️ Litige · 🤝 Promesse"
    ),
    "status.title": "📊 <b>Tableau de bord au {day}</b>",
    "status.totals": (
        "Encours : <b>{open}</b> ({open_count} facture(s))\nEn retard : <b>{overdue}</b> ({overdue_count} facture(s))"
    ),
    "status.by_state": "Factures par état : {counts}",
    "status.state_count": "{state} : {count}",
    "status.aging": "<b>Ancienneté des retards</b>",
    "status.bucket": "{label} j : {amount} ({count})",
    "status.top": "<b>Principaux débiteurs</b>",
    "status.debtor": "{rank}. {name} : {amount} ({invoices} facture(s), {days} j)",
    "status.none": "aucun",
    "status.upcoming": "<b>7 prochains jours</b>",
    "status.upcoming_line": "{day} · {client} · {step} · {amount}",
    "status.recovered": "Encaissé ce mois-ci : <b>{amount}</b>",
    "status.uncertain": "⚠️ Statut d'envoi incertain : {client} ({step}, {amount}). Vérifiez et décidez sur sa fiche.",
    "status.chart_caption": "Retards par ancienneté",
    "chart.title": "Montants en retard par ancienneté",
    "chart.xlabel": "Jours de retard",
    "chart.ylabel": "Montant (€)",
    "invoices.title": "<b>Factures ouvertes</b>{filter}",
    "invoices.filter": " · « {text} »",
    "invoices.line": "{number} · {client} · {balance} · échéance {due}{late} · {state}",
    "invoices.none": "Aucune facture ouverte.",
    "invoices.left": "reste {balance} sur {amount}",
    "invoices.more": "… et {count} autre(s).",
    # invoice states in words: one place, messages.states (the evidence file reads it too)
    **{f"invstate.{state}": label for state, label in STATE_LABELS["fr"].items()},
    "invstate.promised_until": PROMISED_UNTIL["fr"],
    # an action the invoice's state does not allow (dunning.invoice_states.IllegalTransition, services.refusals)
    "illegal.not_when.resolve_dispute": (
        "La facture {number} n'est pas en litige : elle est {state}. Il n'y a pas de litige à clore ; rien n'a été "
        "modifié."
    ),
    "illegal.not_when.reopen": (
        "La facture {number} n'a pas été passée en perte : elle est {state}. Il n'y a rien à rouvrir ; rien n'a été "
        "modifié."
    ),
    "illegal.not_when.end_plan": (
        "La facture {number} n'est pas en échéancier : elle est {state}. Il n'y a pas d'échéancier à terminer ; rien "
        "n'a été modifié."
    ),
    "illegal.not_when.open_dispute": (
        "Impossible d'ouvrir un litige : la facture {number} est {state}. Rien n'a été modifié."
    ),
    "illegal.not_when.promise": (
        "Impossible d'enregistrer une promesse de paiement : la facture {number} est {state}. Rien n'a été modifié."
    ),
    "illegal.not_when.start_plan": (
        "Impossible d'accorder un échéancier : la facture {number} est {state}. Rien n'a été modifié."
    ),
    "illegal.amount": (
        "Le montant {amount} ne convient pas : indiquez un montant positif, au centime près. Rien n'a été modifié."
    ),
    "illegal.payment_written_off": (
        "La facture {number} est {state} : rouvrez-la avant d'y enregistrer un paiement. Rien n'a été modifié."
    ),
    "illegal.credit_closed": (
        "Impossible d'imputer un avoir : la facture {number} est {state}, plus rien n'est dû. Rien n'a été modifié."
    ),
    "illegal.credit_too_much": (
        "L'avoir de {amount} dépasse le reste dû de {balance} sur la facture {number}. Rien n'a été modifié."
    ),
    "illegal.dispute_reason": "Indiquez le motif du litige. Rien n'a été modifié.",
    "illegal.already_disputed": (
        "La facture {number} est déjà en litige : clôturez le litige ou passez la facture en perte. Rien n'a été "
        "modifié."
    ),
    "illegal.write_off_closed": (
        "Impossible de passer la facture {number} en perte : elle est {state}, plus rien n'est dû. Rien n'a été "
        "modifié."
    ),
    "illegal.promise_past": "La date promise, le {until}, est déjà passée. Rien n'a été modifié.",
    "illegal.plan_short": (
        "Un échéancier compte au moins deux échéances (une seule date est une promesse de paiement). Rien n'a été "
        "modifié."
    ),
    "illegal.plan_past": "La première échéance, le {due}, est déjà passée. Rien n'a été modifié.",
    "illegal.plan_order": (
        "Les dates des échéances doivent se suivre, chacune après la précédente. Rien n'a été modifié."
    ),
    "illegal.plan_total": "Les échéances totalisent {total}, et non le reste dû de {balance}. Rien n'a été modifié.",
    "client.usage": (
        "Usage : /client NOM (une partie du nom suffit). Nouvelle adresse : /client NOM email nouvelle@adresse.fr"
    ),
    "client.none": "Aucun client ne correspond à « {text} ».",
    "client.several": "Plusieurs clients correspondent : {names}. Précisez le nom.",
    "client.title": "<b>{name}</b>\n✉️ {emails} · 📞 {phone}",
    "client.invoices": "<b>Factures</b>",
    "client.history": "<b>Historique des relances</b>",
    "client.history_line": "{day} · {step} · {state}",
    "client.no_history": "Aucune relance pour l'instant.",
    "paid.usage": "Usage : /payee NUMERO [montant], par exemple /payee F-2026-042 ou /payee F-2026-042 450,00",
    "paid.unknown": "Aucune facture n° {number}.",
    "paid.nothing": "La facture {number} est {state} : il n'y a plus rien à régler.",
    "import.ask": (
        "📥 Envoyez-moi votre fichier CSV ou une facture électronique (PDF Factur-X, XML CII ou UBL), 5 Mo au plus. "
        "/annuler pour abandonner."
    ),
    "import.not_csv": (
        "Ce fichier n'est ni un CSV ni une facture électronique (.csv, .pdf ou .xml attendu). Rien n'a été importé."
    ),
    "import.too_big": "Ce fichier fait {size} : 5 Mo au plus. Rien n'a été importé.",
    "import.ok": (
        "📥 Import terminé ({filename}) : {rows} ligne(s), {created} facture(s) créée(s), "
        "{updated} mise(s) à jour, {unchanged} inchangée(s), {clients} nouveau(x) client(s)."
    ),
    "import.errors": "❌ Import refusé ({filename}) : rien n'a été enregistré. {count} erreur(s) :",
    "import.error_line": "ligne {line}{column} : {reason}",
    "import.more_errors": "… et {count} autre(s) erreur(s).",
    "import.failed": "Le fichier n'a pas pu être lu : {reason}",
    "einvoice.invoice": (
        "📥 Facture {number} importée ({filename}) : {client}, {amount} à payer, échéance le {due}{assumed}."
    ),
    "einvoice.assumed": " (échéance supposée : émission + 30 jours)",
    "einvoice.unchanged": "📥 Facture {number} déjà importée ({filename}) : rien n'a changé.",
    "einvoice.client_new": "Nouveau client créé : {client}.",
    "einvoice.client_known": "Client reconnu ({by}) : {client}.",
    "einvoice.by.siren": "par son SIREN",
    "einvoice.by.vat": "par son numéro de TVA",
    "einvoice.by.name": "par son nom",
    "einvoice.seller": "Émise par : {seller}.",
    "einvoice.credit_applied": (
        "📥 Avoir {number} ({filename}) de {amount} imputé sur la facture {invoice} : il reste {balance} à payer."
    ),
    "einvoice.credit_unchanged": "📥 Avoir {number} déjà imputé sur la facture {invoice} : rien n'a changé.",
    "einvoice.credit_to_assign": (
        "📥 Avoir {number} ({filename}) de {amount} : {reason}. Il n'a été imputé à aucune facture ; "
        "à vous de l'affecter."
    ),
    "einvoice.no_reference": "il n'indique aucune facture",
    "einvoice.unknown_reference": "la facture {reference} qu'il indique est inconnue",
    "einvoice.dry_run": "Essai : rien n'a été enregistré.",
    "einvoice.error": "❌ Import refusé ({filename}) : rien n'a été enregistré.\n{reason}",
    "settings.title": (
        "⚙️ <b>Paramètres</b>\nRécapitulatif chaque jour à <b>{digest_time}</b>.\nRelances : <b>{state}</b>.\n\n"
        "Pour changer l'heure : /parametres heure HH:MM"
    ),
    "settings.running": "actives",
    "settings.paused": "en pause",
    "settings.pause": "⏸️ Tout mettre en pause",
    "settings.resume": "▶️ Reprendre les relances",
    "settings.now_paused": "⏸️ Relances en pause : plus de récapitulatif ni d'envoi jusqu'à la reprise.",
    "settings.now_running": "▶️ Relances reprises.",
    "settings.time_set": "⏰ Récapitulatif désormais à {digest_time}.",
    "settings.bad_time": "« {text} » n'est pas une heure valide. Écrivez HH:MM, par exemple 08:30.",
    "rates.usage": "Usage : /taux SEMESTRE TAUX, par exemple /taux 2026-H2 2,15 (taux de la BCE, en %).",
    "rates.title": "📈 <b>Taux de la BCE</b> (pénalités de retard : taux de la BCE majoré de 10 points)",
    "rates.line": "{half_year} : {rate}",
    "rates.line_missing": "{half_year} : ⚠️ manquant",
    "rates.all_present": "Les taux des derniers semestres sont connus.",
    "rates.how_to_add": (
        "Pour l'ajouter : /taux {half_year} &lt;taux&gt; (le taux en pourcentage, virgule ou point décimal). "
        "Le taux à retenir est celui de l'opération principale de refinancement de la BCE en vigueur "
        "le 1er janvier (semestre H1) ou le 1er juillet (semestre H2) : site de la BCE ou de la Banque de France "
        "(« taux directeurs de la BCE »). Relance ne devine jamais un taux."
    ),
    "rates.set": (
        "📈 Taux de la BCE pour {half_year} : <b>{rate}</b> (pénalités de retard : {penalty_rate}). "
        "C'est noté dans le journal de preuves et appliqué dès maintenant."
    ),
    "rates.bad_half_year": (
        "« {text} » n'est pas un semestre. Écrivez l'année, un tiret et H1 ou H2, par exemple 2026-H2. "
        "Rien n'a été modifié."
    ),
    "rates.out_of_range": (
        "{half_year} est hors des semestres acceptés ({earliest} à {latest}). Rien n'a été modifié."
    ),
    "rates.bad_value": (
        "« {text} » n'est pas un taux. Écrivez un pourcentage, par exemple 2,15. Rien n'a été modifié."
    ),
    "rates.implausible": ("{text} % n'est pas un taux de la BCE plausible (entre -5 et 50 %). Rien n'a été modifié."),
    "rates.startup_missing": (
        "⚠️ <b>Le taux de la BCE pour {half_year} manque.</b> Tant qu'il n'est pas ajouté, les relances "
        "énoncent la règle des pénalités de retard mais sans montant pour les jours de retard de ce semestre."
    ),
    "evidence.usage": "Usage : /preuves NUMERO, par exemple /preuves F-2026-042",
    "evidence.caption": "📁 Dossier de preuves de la facture {number}",
    "evidence.failed": "Impossible de préparer le dossier : {reason}",
    "btn.dispute_resume": "▶️ Reprendre les relances",
    "btn.dispute_write_off": "🗑 Passer en perte",
    "disputes.title": (
        "⚖️ <b>{count} litige(s) en cours</b>\nPour chacun : reprendre les relances, ou passer la facture en perte."
    ),
    "disputes.none": "⚖️ Aucun litige en cours.",
    "disputes.more": "… et {count} autre(s) : /reprendre NUMERO pour reprendre les relances d'une facture.",
    "disputes.line": "⚖️ <b>{number}</b> · {client} · {amount}\nMotif : {reason}",
    "disputes.resumed": "▶️ Litige clos : la facture {number} est de nouveau relancée.",
    "disputes.written_off": "🗑 Facture {number} passée en perte : elle ne sera plus relancée.",
    "disputes.not_disputed": "Cette facture n'est plus en litige (état : {state}).",
    "resume.usage": "Usage : /reprendre NUMERO, par exemple /reprendre F-2026-042",
    "resume.not_disputed": "La facture {number} n'est pas en litige (elle est {state}) : rien n'a été modifié.",
    "commands.disputes": "Litiges en cours",
    "commands.resume": "Reprendre les relances d'une facture en litige",
    "commands.start": "Présentation et premiers pas",
    "commands.help": "Toutes les commandes",
    "commands.digest": "Les relances du jour",
    "commands.status": "Tableau de bord",
    "commands.invoices": "Factures ouvertes",
    "commands.client": "Fiche d'un client",
    "commands.paid": "Enregistrer un paiement",
    "commands.import": "Importer un CSV de factures",
    "commands.evidence": "Dossier de preuves d'une facture",
    "commands.settings": "Heure du récapitulatif, pause",
    "commands.rates": "Taux de la BCE (pénalités de retard)",
    "commands.cancel": "Abandonner la question en cours",
    # terminal
    "term.today": "Aujourd'hui : {day}",
    "term.choose": "Relance n° (1-{count}), [t]ableau de bord, [q]uitter : ",
    "term.action": "Action [e/m/r/p/l/o/s/q] : ",
    "term.actions_help": (
        "e = envoyer, m = modifier, r = reporter, p = payée, l = litige, o = promesse, s = suivante, q = quitter"
    ),
    "term.snooze": "Reporter de combien de jours (1, 3, 7) ou jusqu'à quelle date (JJ/MM) ? ",
    "term.amount": "Montant reçu (Entrée = totalité) : ",
    "term.reason": "Motif du litige : ",
    "term.promise": "Date promise (JJ/MM ou JJ/MM/AAAA) : ",
    "term.edit": "Nouveau texte (une ligne « Objet: … » en tête remplace l'objet ; terminez par une ligne « . ») :",
    "term.eml": "✉️ E-mail écrit dans {path}",
    "term.bye": "À bientôt !",
    "term.no_more": "Plus rien à traiter aujourd'hui.",
    "term.telegram": (
        "Pour recevoir ces relances sur Telegram : créez un bot avec @BotFather, puis mettez dans .env\n"
        "  TELEGRAM_BOT_TOKEN=<le jeton donné par BotFather>\n"
        "  OWNER_CHAT_IDS=<votre identifiant Telegram (demandez-le à @userinfobot)>\n"
        "et relancez `make run`. Voir README.md, « Using the Telegram bot ».\n"
        "Sur Slack : créez l'app depuis slack-manifest.yaml, puis mettez dans .env\n"
        "  SLACK_BOT_TOKEN=xoxb-…  SLACK_APP_TOKEN=xapp-…  SLACK_OWNER_IDS=<votre identifiant Slack, U…>\n"
        "Voir README.md, « Using Relance in Slack »."
    ),
    "slack.card.truncated": "… (texte tronqué : trop long pour un message Slack)",
    "slack.card.full_title": "E-mail complet",
    "slack.card.close": "Fermer",
    "slack.cmd.in_dm": "📬 La réponse arrive dans votre conversation privée avec Relance (onglet Messages de l'app).",
    "slack.cmd.unknown": "Je ne connais pas la sous-commande « {name} ».",
    "slack.cmd.help": (
        "<b>Commandes</b> (/relance suivi d'une sous-commande)\n"
        "/relance digest : les relances du jour\n"
        "/relance status : encours, retards, principaux débiteurs, 7 prochains jours, graphique\n"
        "/relance factures [client] : les factures ouvertes\n"
        "/relance client NOM : les factures et l'historique d'un client\n"
        "/relance payee NUMERO [montant] : enregistrer un paiement\n"
        "/relance preuves NUMERO : le dossier de preuves d'une facture (ZIP)\n"
        "/relance litiges : les litiges en cours (reprendre les relances ou passer en perte)\n"
        "/relance taches : les questions de Relance (trop-perçus, pénalités, promesses, échéances, avoirs)\n"
        "/relance reponses : les réponses des clients par e-mail et les courriels non distribués à traiter\n"
        "/relance virements : les virements des relevés bancaires dont la facture reste à confirmer\n"
        "/relance reprendre NUMERO : clore le litige d'une facture et reprendre ses relances\n"
        "/relance parametres : heure du récapitulatif, pause\n"
        "/relance aide : cette aide\n\n"
        "<b>Import</b> : envoyez votre fichier CSV de factures (5 Mo au plus) dans cette conversation.\n"
        "<b>Tableau de bord</b> : l'onglet Accueil de l'app.\n\n"
        "<b>Boutons des relances</b>\n"
        "✅ Envoyer l'e-mail · ✏️ Modifier le texte · ⏰ Reporter · 💶 Payée · ⚖️ Litige · 🤝 Promesse"
    ),
    "slack.cmd.client_usage": (
        "Usage : /relance client NOM (une partie du nom suffit). Nouvelle adresse : "
        "/relance client NOM email nouvelle@adresse.fr"
    ),
    "slack.cmd.paid_usage": (
        "Usage : /relance payee NUMERO [montant], par exemple /relance payee F-2026-042 "
        "ou /relance payee F-2026-042 450,00"
    ),
    "slack.cmd.evidence_usage": "Usage : /relance preuves NUMERO, par exemple /relance preuves F-2026-042",
    "slack.cmd.resume_usage": "Usage : /relance reprendre NUMERO, par exemple /relance reprendre F-2026-042",
    "slack.cmd.disputes_more": (
        "… et {count} autre(s) : /relance reprendre NUMERO pour reprendre les relances d'une facture."
    ),
    "slack.cmd.settings": (
        "⚙️ <b>Paramètres</b>\nRécapitulatif chaque jour à <b>{digest_time}</b>.\nRelances : <b>{state}</b>.\n\n"
        "Pour changer l'heure : /relance parametres heure HH:MM"
    ),
    "slack.home.hint": "Mis à jour après chaque action. Toutes les commandes : /relance aide",
    "slack.import.download_failed": "le téléchargement depuis Slack a échoué",
    "slack.cmd.unknown_text": "Je n'attends pas de texte ici. Tapez /relance aide pour voir ce que je sais faire.",
    "slack.modal.edit_title": "Modifier l'e-mail",
    "slack.modal.pay_title": "Paiement reçu",
    "slack.modal.dispute_title": "Litige",
    "slack.modal.promise_title": "Promesse de paiement",
    "slack.modal.snooze_title": "Reporter la relance",
    "slack.modal.submit": "Enregistrer",
    "slack.modal.close": "Annuler",
    "slack.modal.subject": "Objet",
    "slack.modal.body": "Texte de l'e-mail",
    "slack.modal.body_hint": "{limit} caractères au plus. Le texte part tel quel, sans mise en forme.",
    "slack.modal.body_too_long_now": (
        "Le texte actuel fait {length} caractères, plus que les {limit} permis ici : écrivez un texte plus court."
    ),
    "slack.modal.body_empty": "Le texte est vide : écrivez le message à envoyer.",
    "slack.modal.body_too_long": "Ce texte est trop long ({length} caractères) : {limit} au plus.",
    "slack.modal.edit_saved": "✏️ Nouveau texte enregistré : vérifiez-le sur la fiche, puis ✅ Envoyer.",
    "slack.modal.amount": "Montant reçu",
    "slack.modal.amount_hint": (
        "Gardez {balance} si la totalité a été payée. Pour un paiement partiel, indiquez le montant reçu, "
        "par exemple 450,00."
    ),
    "slack.modal.reason": "Motif du litige",
    "slack.modal.reason_hint": "Quelques mots, {limit} caractères au plus.",
    "slack.modal.reason_empty": "Indiquez un motif (quelques mots).",
    "slack.modal.promise_date": "Date à laquelle le client a promis de payer",
    "slack.modal.date_missing": "Choisissez une date.",
    "slack.modal.snooze_choice": "Reporter de",
    "slack.modal.snooze_date": "Jusqu'au (avec « Autre date »)",
    "slack.modal.snooze_pick": "Choisissez +1 j, +3 j, +7 j, ou « Autre date » et une date.",
    "slack.modal.snooze_both": "Choisissez soit un délai, soit « Autre date » avec une date, pas les deux.",
    # bank statements in (relance payments, a statement sent to the bot)
    "payments.error": "❌ Relevé {filename} refusé{where} : {reason}. Rien n'a été enregistré.",
    "payments.error_line": " (ligne {line})",
    "payments.title": "🏦 Relevé {filename} ({format}) :",
    "payments.recorded": "💶 {count} paiement(s) enregistré(s), {total} au total.",
    "payments.recorded_dry": "💶 {count} paiement(s) seraient enregistré(s), {total} au total.",
    "payments.line": "  • {number} ({client}) : {amount}, reçu le {day}",
    "payments.paid": "✅ Facture(s) désormais payée(s) : {numbers}.",
    "payments.cancelled": "🔕 {count} relance(s) en attente annulée(s) : leurs factures sont réglées.",
    "payments.to_confirm": "❓ {count} paiement(s) à confirmer :",
    "payments.doubtful_line": "  • {amount} du {day} ({payer}) : est-ce la facture {candidates} ?",
    "payments.overpaid": (
        "⚠️ Trop-perçu de {excess} sur le virement de {amount} du {day} ({payer}) : le solde de {numbers} est réglé, "
        "l'excédent est à rembourser ou à affecter."
    ),
    "payments.unknown_payer": "payeur non indiqué",
    "payments.no_invoice": "aucune facture ouverte",
    "payments.foreign": "🌍 {count} ligne(s) dans une autre devise, non rapprochée(s) : {lines}.",
    "payments.unmatched": "➖ {count} ligne(s) ne correspondent à aucune facture ouverte.",
    "payments.known": "🔁 {count} ligne(s) déjà importée(s) : ignorée(s).",
    "payments.nothing_new": "Rien de nouveau dans ce relevé.",
    "payments.settled": (
        "🙏 Tout est réglé pour : {clients}. Un message « merci pour votre règlement » pourra leur être proposé."
    ),
    "payments.dry_run": "Essai (--dry-run) : rien n'a été enregistré.",
    "payments.or": "ou",
    "payments.and_more": " et {count} autre(s)",
    "payments.reason": "{reason} (détail : {detail})",
    "payments.reason.no_credit": "aucun crédit dans ce relevé (seulement des débits, ou rien de comptabilisé)",
    "payments.reason.camt_version": "ce fichier XML n'est pas un relevé CAMT.053 pris en charge (.001.02 à .001.08)",
    "payments.reason.camt_entry": "une écriture n'a ni montant ni date de comptabilisation",
    "payments.reason.bad_xml": "le fichier XML est mal formé ou tronqué",
    "payments.reason.unreadable": "le fichier ne peut pas être lu",
    "payments.reason.too_big": "le fichier est trop volumineux (50 Mo au plus)",
    "payments.reason.empty": "le fichier est vide",
    "payments.reason.xml_entities": "le fichier contient une DTD ou des entités XML, refusées par sécurité",
    "payments.reason.csv_binary": "ce n'est pas un export CSV mais un fichier binaire",
    "payments.reason.csv_profile": "cette banque n'est pas connue",
    "payments.reason.csv_unknown": "les colonnes de ce CSV ne correspondent à aucun export bancaire connu",
    "payments.reason.csv_columns": "les colonnes indiquées pour ce CSV ne conviennent pas",
    "payments.reason.csv_date": "une date est illisible",
    "payments.reason.csv_amount": "un montant est illisible",
    "payments.reason.ofx_empty": "ce fichier OFX ne contient aucune opération",
    "payments.reason.ofx_amount": "une opération a un montant illisible",
    "payments.reason.ofx_date": "une opération n'a pas de date (DTPOSTED)",
    "payments.reason.ofx_bad": "ce n'est pas un fichier OFX",
    "statement.line": "💶 {amount} reçu le {day} de {payer} (« {remittance} »).",
    "statement.line_bare": "💶 {amount} reçu le {day} de {payer}.",
    "statement.ask": "C'est la facture {number} ({client}, reste dû {balance}) ?",
    "statement.choose": "Quelle facture ce virement règle-t-il ?",
    "statement.no_candidate": "Aucune facture ouverte ne correspond à ce virement pour le moment.",
    "statement.btn_yes": "✅ Oui",
    "statement.btn_other": "🔎 Autre facture",
    "statement.btn_ignore": "🚫 Ignorer",
    "statement.btn_invoice": "{number} · {client} · {balance}",
    "statement.recorded": "✅ Paiement de {amount} enregistré sur la facture {number}.",
    "statement.excess": "⚠️ Trop-perçu de {excess} : il n'a pas été conservé ; à rembourser au client ou à affecter.",
    "statement.ignored": "🚫 Virement ignoré : aucun paiement n'a été enregistré.",
    # /virements: the doubtful credits still waiting
    "commands.transfers": "Virements des relevés à rapprocher d'une facture",
    "transfers.title": "💶 <b>{count} virement(s) à rapprocher</b> : indiquez pour chacun la facture qu'il règle.",
    "transfers.none": (
        "Aucun virement en attente : tous les virements des relevés importés ont été rapprochés ou écartés."
    ),
    "transfers.more": "… et {count} autre(s), à voir une fois ceux-ci traités (/virements).",
    # --- registered letters (LRAR) of formal notices ---
    "btn.lrar_sent": "✉️ LRAR envoyée",
    "btn.lrar_presented": "📮 Première présentation",
    "btn.lrar_received": "📬 AR reçu",
    "btn.lrar_unclaimed": "📭 Pli non réclamé",
    "btn.lrar_returned": "↩️ Retourné",
    "card.lrar": "✉️ Lettre recommandée n° {number} envoyée le {sent}{presented}.",
    "card.lrar_presented": ", présentée le {day}",
    "card.lrar_awaiting": "📬 En attente de l'accusé de réception.",
    "card.lrar_received": "📬 Accusé de réception signé le {day}{proof}.",
    "card.lrar_proof": " (scan conservé)",
    "card.lrar_unclaimed": "📭 Pli avisé et non réclamé : la mise en demeure vaut depuis sa première présentation.",
    "card.lrar_returned": "↩️ Lettre revenue sans avoir été distribuée : vérifiez l'adresse du client.",
    "card.lrar_deadline": "⏳ Délai de paiement : jusqu'au {deadline} ({basis}).",
    "card.lrar_from_presentation": "compté depuis la première présentation",
    "card.lrar_from_posting": "compté depuis l'envoi, en attendant la date de présentation",
    "ask.lrar_sent": (
        "✉️ Numéro de suivi La Poste et date d'envoi, par exemple : 1A12345678901 28/11/2026 "
        "(sans la date, je vous la demanderai). /annuler pour abandonner."
    ),
    "ask.lrar_sent_date": (
        "📅 Date d'envoi de la lettre recommandée ? (JJ/MM/AAAA, ou « aujourd'hui ») /annuler pour abandonner."
    ),
    "ask.lrar_received": (
        "📬 Date de réception inscrite sur l'accusé de réception ? (JJ/MM/AAAA) Vous pouvez aussi envoyer tout "
        "de suite la photo ou le PDF de l'AR signé, avec la date en légende. /annuler pour abandonner."
    ),
    "ask.lrar_proof": (
        "📎 Envoyez la photo ou le PDF de l'accusé de réception signé, ou tapez « sans » si vous ne l'avez pas. "
        "/annuler pour abandonner."
    ),
    "ask.lrar_unclaimed": (
        "📭 Date de première présentation (celle de l'avis de passage) ? (JJ/MM/AAAA) /annuler pour abandonner."
    ),
    "ask.lrar_presented": (
        "📮 Date de la première présentation de la lettre (suivi La Poste ou avis de passage) ? (JJ/MM/AAAA, ou "
        "« aujourd'hui ») Le délai de paiement sera compté depuis ce jour. /annuler pour abandonner."
    ),
    "ask.lrar_returned": "↩️ Date du retour de la lettre ? (JJ/MM/AAAA, ou « aujourd'hui ») /annuler pour abandonner.",
    "lrar.bad_tracking": (
        "« {text} » n'est pas un numéro de suivi La Poste : deux lettres ou chiffres, puis des chiffres, 11 à 13 "
        "caractères en tout (ici {length}). Par exemple : 1A12345678901 ou AR123456789FR."
    ),
    "lrar.date_future": "Le {day} n'est pas encore arrivé : donnez la date inscrite sur le document.",
    "lrar.date_too_old": "Le {day} remonte à plus d'un an : vérifiez la date.",
    "lrar.date_before_sent": "Le {day} précède l'envoi de la lettre ({sent}) : vérifiez la date.",
    "lrar.proof_too_big": "Ce fichier dépasse {limit} Mo : envoyez une photo ou un PDF plus léger.",
    "lrar.proof_type": (
        "Ce fichier n'est ni une photo (JPEG, PNG) ni un PDF : envoyez la photo ou le scan PDF de l'accusé de "
        "réception, ou tapez « sans »."
    ),
    "lrar.proof_failed": "Le fichier n'a pas pu être téléchargé : envoyez-le à nouveau, ou tapez « sans ».",
    "lrar.sent_saved": (
        "✉️ Lettre recommandée n° {number} enregistrée, envoyée le {day}. Délai de paiement : jusqu'au {deadline} "
        "pour l'instant ; il sera compté depuis la première présentation dès qu'elle sera connue."
    ),
    "lrar.presented_saved": "📮 Première présentation du {day} enregistrée : délai de paiement jusqu'au {deadline}.",
    "lrar.received_saved": (
        "📬 Accusé de réception du {day} enregistré avec son scan (empreinte SHA-256 au journal de preuves). "
        "Délai de paiement : jusqu'au {deadline}."
    ),
    "lrar.received_saved_no_proof": (
        "📬 Accusé de réception du {day} enregistré, sans scan. Délai de paiement : jusqu'au {deadline}."
    ),
    "lrar.unclaimed_saved": (
        "📭 Pli non réclamé enregistré, présenté le {day} : la mise en demeure vaut depuis cette date. "
        "Délai de paiement : jusqu'au {deadline}."
    ),
    "lrar.returned_saved": (
        "↩️ Retour de la lettre enregistré ({day}). Vérifiez l'adresse du client avant un nouvel envoi."
    ),
    "letters.title": "<b>Mises en demeure en attente de l'accusé de réception</b>",
    "letters.line": "✉️ {client} · LRAR {number} envoyée le {sent}{presented} · délai jusqu'au {deadline}",
    "letters.presented": ", présentée le {day}",
    "slack.modal.lrar_sent_title": "LRAR envoyée",
    "slack.modal.lrar_presented_title": "Première présentation",
    "slack.modal.lrar_received_title": "Accusé de réception",
    "slack.modal.lrar_unclaimed_title": "Pli non réclamé",
    "slack.modal.lrar_returned_title": "Lettre retournée",
    "slack.modal.tracking": "Numéro de suivi La Poste",
    "slack.modal.tracking_hint": "Par exemple 1A12345678901 ou AR123456789FR",
    "slack.modal.lrar_sent_date": "Date d'envoi",
    "slack.modal.lrar_received_date": "Date de réception (inscrite sur l'AR)",
    "slack.modal.lrar_proof": "Photo ou PDF de l'AR signé",
    "slack.modal.lrar_proof_hint": "Facultatif : JPEG, PNG ou PDF, 10 Mo au plus.",
    "slack.modal.lrar_presented_date": "Date de première présentation (avis de passage)",
    "slack.modal.lrar_returned_date": "Date du retour",
    "slack.lrar.scan_after": "Après validation, partagez ici la photo ou le PDF de l'AR signé.",
    "slack.lrar.share_scan": (
        "📎 Partagez dans cette conversation la photo ou le PDF de l'accusé de réception signé (JPEG, PNG ou PDF, "
        "10 Mo au plus) : il sera enregistré avec la date de réception. Sans scan, cliquez ci-dessous."
    ),
    "slack.lrar.no_scan": "Enregistrer sans scan",
    # --- phone calls and channels (issue 11 §2) ---
    "btn.call_done": "📞 Appel fait",
    "btn.call_no_answer": "📵 Pas de réponse",
    "btn.call_email": "✉️ Envoyer plutôt l'e-mail",
    "card.call_phone": '📞 À appeler : <a href="{tel}">{phone}</a>',
    "card.call_no_phone": "📞 À appeler, mais aucun numéro n'est enregistré pour ce client.",
    "card.call_attempts": "📵 Sans réponse : {count} tentative(s), la dernière le {day} à {time}.",
    "card.call_script": "<b>Script d'appel</b>",
    "card.call_script_missing": "(Le script d'appel n'a pas pu être préparé : voir le journal du bot.)",
    "card.channel.registered_letter": (
        "✉️ Lettre recommandée d'abord : imprimez la lettre (📄 Lettre PDF) et postez-la ; cet e-mail en est la copie."
    ),
    "card.channel.email+letter": (
        "✉️ E-mail et courrier : cet e-mail, et la lettre (📄 Lettre PDF) à imprimer et poster."
    ),
    "ask.call_outcome": "📞 Qu'a dit le client ? Résumez l'appel en une ligne (ou /annuler).",
    "call.saved": "📞 Appel noté. Le client a promis, contesté ou payé ? Choisissez ci-dessous.",
    "call.no_answer_saved": (
        "📵 Tentative notée. La carte reste là : rappelez plus tard, reportez ou envoyez plutôt l'e-mail."
    ),
    "call.email_chosen": "✉️ Voici l'e-mail de la même étape, prêt à partir.",
    "call.state_done": "📞 Appel fait le {day} à {time} : « {note} »",
    "call.note_empty": "Écrivez en une ligne ce qu'a dit le client (ou /annuler).",
    "call.note_too_long": "C'est trop long ({length} caractères, {limit} au plus) : résumez l'appel en une ligne.",
    "call.outcome.reached": "client joint",
    "call.outcome.no_answer": "pas de réponse",
    "client.last_call": "📞 Dernier appel : le {day} à {time}, {outcome}{note}",
    "slack.modal.call_title": "Appel fait",
    "slack.modal.call_label": "Ce qu'a dit le client, en une ligne",
    "slack.modal.call_empty": "Écrivez en une ligne ce qu'a dit le client.",
    # owner tasks: the questions Relance asks (over-payment, late payment, broken promise, missed instalment, credit
    # note to assign) — bot/task_cards.py
    "commands.tasks": "Questions en attente (trop-perçus, pénalités, promesses, échéances, avoirs)",
    "tasks.header": "❓ Relance a {count} question(s) pour vous :",
    "tasks.none": "Aucune question en attente.",
    "tasks.more": "… et {count} autre(s) : tapez /taches pour les voir.",
    "tasks.overpayment": (
        "💶 <b>Trop-perçu</b> de {amount} sur la facture {number} ({client}), reçu le {day}. "
        "Il n'a pas été conservé sans vous : que voulez-vous en faire ?"
    ),
    "tasks.late_payment": (
        "⏱️ <b>Paiement en retard</b> : la facture {number} ({client}) a été réglée avec {days} jour(s) de retard. "
        "Les pénalités de retard et l'indemnité forfaitaire de 40 € restent dues : voulez-vous les réclamer ?"
    ),
    "tasks.promise_broken": (
        "🤝❌ <b>Promesse non tenue</b> : {client} s'était engagé à régler la facture {number} au plus tard le {until} "
        "(reste dû {balance}). Les relances ont repris."
    ),
    "tasks.instalment_missed": (
        "📅❌ <b>Échéance non réglée</b> : l'échéance n° {seq} du {due} ({amount}) de l'échéancier de {client} "
        "(facture {number}) n'a pas été payée. Relancer le client, ou mettre fin à l'échéancier (les relances "
        "reprennent) ?"
    ),
    "tasks.credit_note": (
        "🧾 <b>Avoir à affecter</b> : l'avoir {number} de {amount} ({client}) vise la facture {reference}, "
        "inconnue de Relance. Sur quelle facture l'imputer ?"
    ),
    "tasks.credit_note_noref": (
        "🧾 <b>Avoir à affecter</b> : l'avoir {number} de {amount} ({client}) ne précise pas la facture qu'il "
        "concerne. Sur quelle facture l'imputer ?"
    ),
    "tasks.no_open_invoice": "Ce client n'a aucune facture ouverte à laquelle l'affecter.",
    "tasks.choose": "À quelle facture de {client} affecter {amount} ?",
    "tasks.btn.refunded": "↩️ Remboursé",
    "tasks.btn.assign": "➡️ Affecter à une autre facture",
    "tasks.btn.keep": "💼 Garder en avoir",
    "tasks.btn.claim": "⚖️ Réclamer les pénalités",
    "tasks.btn.skip": "🚫 Ne pas réclamer",
    "tasks.btn.ok": "👌 OK",
    "tasks.btn.remind": "🔔 Relancer",
    "tasks.btn.end": "⏹️ Terminer l'échéancier",
    "tasks.btn.ignore": "🚫 Ignorer",
    "tasks.btn.back": "↩️ Retour",
    "tasks.btn.invoice": "{number} · reste dû {balance}",
    "tasks.done.refunded": "↩️ Noté : le trop-perçu de {amount} sur la facture {number} a été remboursé au client.",
    "tasks.done.kept": "💼 Noté : {amount} restent en avoir pour {client}.",
    "tasks.done.assigned": "➡️ {amount} affectés à la facture {number}.",
    "tasks.done.claimed": "⚖️ Réclamation des pénalités de la facture {number} préparée : relisez-la et envoyez-la.",
    "tasks.done.reminded": "🔔 Relance de l'échéance (facture {number}) préparée : relisez-la et envoyez-la.",
    "tasks.done.ended": "⏹️ Échéancier terminé : les relances de la facture {number} reprennent.",
    "tasks.done.credit_assigned": "🧾 Avoir {number} imputé sur la facture {invoice} (reste dû {balance}).",
    "tasks.done.credit_ignored": "🚫 Avoir {number} ignoré : il n'a été imputé sur aucune facture.",
    "tasks.done.skipped": "🚫 Noté : les pénalités ne seront pas réclamées.",
    "tasks.done.noted": "👌 Noté.",
    "tasks.no_candidate": "Ce client n'a aucune autre facture ouverte à laquelle l'affecter.",
    "tasks.refused": "Impossible : {reason}. Rien n'a été modifié.",
    "tasks.failed": "Cette action n'a pas pu être faite ; rien n'a été modifié. Réessayez plus tard.",
    # --- replies by e-mail (issue 11 §1): the reply and bounce cards, bot/reply_cards.py, services.reply_actions ---
    "commands.replies": "Réponses des clients en attente",
    "step.reply": "↩️ Réponse au client",
    "replies.title": "📨 <b>Réponse de {client}</b> · reçue le {day} à {time}",
    "replies.bounce_title": "⚠️ <b>Courriel non distribué · {client}</b> · le {day} à {time}",
    "replies.from": "De : {sender}\nObjet : {subject}",
    "replies.invoice": "📄 {number} · reste dû {balance}",
    "replies.no_invoice_listed": "📄 Aucune facture ouverte de ce client.",
    "replies.attachments": "📎 Pièces jointes : {names}",
    "replies.more": "… et {count} autre(s)",
    "replies.empty_text": "(message sans texte)",
    "replies.cut": "[… la suite est dans le courriel conservé]",
    "replies.promise_hint": "🤝 Date de paiement trouvée dans le message : {day}.",
    "replies.promise_found": (
        "🤝 Le client propose de payer le <b>{day}</b>. Acceptez cette date ou indiquez-en une autre."
    ),
    "replies.dispute_found": (
        "⚖️ Motif proposé (le texte du client) :\n« {reason} »\nGardez ce motif ou écrivez-en un autre."
    ),
    "replies.btn.answer": "↩️ Répondre",
    "replies.btn.nothing": "👌 Rien à faire",
    "replies.btn.promise_accept": "✅ Le {day}",
    "replies.btn.promise_other": "✏️ Autre date",
    "replies.btn.dispute_accept": "✅ Garder ce motif",
    "replies.btn.dispute_other": "✏️ Autre motif",
    "replies.ask_promise": (
        "🤝 À quelle date le client s'engage-t-il à payer ? (JJ/MM ou JJ/MM/AAAA ; /annuler pour abandonner)"
    ),
    "replies.ask_dispute": (
        "⚖️ Quel est le motif du litige ? Écrivez-le en une ou deux phrases (/annuler pour abandonner)."
    ),
    "replies.ask_answer": (
        "↩️ Écrivez votre réponse au client, telle qu'elle doit partir (/annuler pour abandonner). Elle vous sera "
        "présentée en brouillon : rien ne part sans votre validation."
    ),
    "replies.answer_empty": "Votre réponse est vide : écrivez le texte à envoyer au client.",
    "replies.answer_too_long": "Votre réponse fait {length} caractères ; la limite est de {limit}. Raccourcissez-la.",
    "replies.nothing_owed": "Ce client ne doit plus rien sur ces factures : rien n'a été enregistré.",
    "replies.no_invoice": "Aucune facture de ce client n'est liée à ce message : la réponse n'a pas été préparée.",
    "replies.answer_pending": (
        "Une réponse à un autre message de ce client attend déjà votre validation : envoyez-la ou abandonnez-la "
        "d'abord. Rien n'a été préparé."
    ),
    "replies.answer_same_day": (
        "Une réponse a déjà été envoyée aujourd'hui à ce client par Relance : répondez-lui depuis votre messagerie, "
        "ou réessayez demain. Rien n'a été préparé."
    ),
    "replies.done_paid": "💶 Paiement enregistré : les factures sont soldées et les relances arrêtées.",
    "replies.done_promise": "🤝 Promesse de paiement au {day} enregistrée : les relances attendent cette date.",
    "replies.done_dispute": "⚖️ Litige ouvert : ces factures ne seront plus relancées jusqu'à sa clôture.",
    "replies.done_nothing": "👌 Noté : rien à faire. Les relances de ce client reprennent leur cours.",
    "replies.done_answer": "↩️ Votre réponse est prête : relisez-la ci-dessous, puis envoyez-la.",
    "replies.handled.paid": "✅ Traité : 💶 payée.",
    "replies.handled.promise": "✅ Traité : 🤝 promesse de paiement enregistrée.",
    "replies.handled.dispute": "✅ Traité : ⚖️ litige ouvert.",
    "replies.handled.answered": "✅ Traité : ↩️ réponse préparée.",
    "replies.handled.nothing": "✅ Traité : 👌 rien à faire.",
    "replies.handled.new_address": "✅ Traité : nouvelle adresse enregistrée.",
    "replies.handled.noted": "✅ Noté.",
    "replies.bounce": "L'adresse {address} a été refusée par le serveur : {reason}",
    "replies.bounce_how": (
        "Pour indiquer une autre adresse, envoyez :\n<code>{command} {name} email nouvelle@adresse.fr</code>\n"
        "La relance concernée pourra ensuite être renvoyée à la nouvelle adresse."
    ),
    "replies.header": "📨 {count} message(s) de clients attendent votre décision :",
    "replies.none": "Aucune réponse de client en attente.",
    "replies.bad_address": "« {address} » n'est pas une adresse électronique valide : rien n'a été modifié.",
    "replies.address_changed": "📧 Nouvelle adresse enregistrée : {address}. Les adresses refusées ont été retirées.",
    "replies.send_again": "La relance revenue non distribuée peut maintenant être renvoyée à la nouvelle adresse :",
    "replies.email_usage": "Pour changer l'adresse d'un client : <code>{command} NOM email nouvelle@adresse.fr</code>",
    "replies.slack_answer_title": "Répondre au client",
    "replies.slack_answer_label": "Votre réponse",
    "replies.slack_answer_hint": "Elle vous sera présentée en brouillon : rien ne part sans votre validation.",
    "replies.slack_promise_title": "Promesse de paiement",
    "replies.slack_dispute_title": "Litige",
    "replies.slack_dispute_label": "Motif du litige",
    "replies.mailbox_auth": (
        "📪 Relance ne peut pas lire la boîte où arrivent les réponses des clients : le serveur IMAP refuse "
        "l'identifiant ou le mot de passe. Vérifiez IMAP_USERNAME et IMAP_PASSWORD ; Relance réessaie de lui-même."
    ),
    "outbox.smtp_down": (
        "📮 Envoi en panne : le serveur d'envoi (SMTP) ne répond pas, ou refuse l'identifiant et le mot de passe. "
        "Les e-mails approuvés restent en file d'attente et partiront d'eux-mêmes dès que l'envoi fonctionnera de "
        "nouveau ; vous serez prévenu à ce moment-là."
    ),
    "outbox.smtp_up": "📬 Envoi rétabli : le serveur d'envoi (SMTP) répond de nouveau, les e-mails en attente partent.",
}

EN: dict[str, str] = {
    "private": "This bot is private.",
    "error": "Sorry, something unexpected went wrong. It has been logged; please try again in a moment.",
    "unknown_command": "I don't know that command. Type /help for the list of commands.",
    "unknown_text": "I'm not expecting any text right now. Type /help to see what I can do.",
    "btn.send": "✅ Send",
    "btn.edit": "✏️ Edit",
    "btn.snooze": "⏰ Snooze",
    "btn.paid": "💶 Paid",
    "btn.dispute": "⚖️ Dispute",
    "btn.promise": "🤝 Promise",
    "btn.more": "📄 Show the rest",
    "btn.back": "↩️ Back",
    "btn.cancel": "↩️ Cancel",
    "btn.snooze1": "+1 d",
    "btn.snooze3": "+3 d",
    "btn.snooze7": "+7 d",
    "btn.snooze_date": "📅 Other date",
    "btn.pay_full": "💶 Paid in full",
    "btn.pay_partial": "💶 Partial payment",
    "btn.send_now": "📤 Send now",
    "btn.call": "📞 Call script",
    "btn.pdf": "📄 Letter PDF",
    # --- payment plans (échéancier): bot/plan_cards.py, services.plans ---
    "btn.plan": "📅 Payment plan",
    "plan.title": "📅 <b>Payment plan for {client}</b>",
    "plan.invoices": "Invoices: {numbers} — {total} due",
    "plan.count": "In {count} monthly instalments:",
    "plan.typed": "Your schedule ({count} instalments):",
    "plan.line": "• {day}: {amount}",
    "plan.hint": (
        "Choose the number of instalments, or “Edit” to type your own dates and amounts. “Prepare the e-mail” drafts "
        "the message to the client, to review and send like a reminder: the plan starts when it is sent."
    ),
    "plan.btn.count": "{count}×",
    "plan.btn.count_current": "· {count}× ·",
    "plan.btn.edit": "✏️ Edit",
    "plan.btn.prepare": "📧 Prepare the e-mail",
    "plan.ask": (
        "✏️ Type the schedule, one instalment per line, the date then the amount, for example:\n<code>{example}</code>\n"
        "The total must be {total}. The e-mail is drafted at once. /cancel to stop."
    ),
    "plan.proposed": (
        "📧 Plan of {count} instalments prepared: the e-mail to the client is below, to review and send. Reminders "
        "of these invoices stop when it is sent."
    ),
    "plan.prepared": "📧 The plan's e-mail is prepared (below).",
    "plan.nothing": "No invoice of this reminder can be spread (paid, disputed or already in a plan).",
    "plan.draft_failed": "The plan's e-mail could not be drafted; nothing was saved.",
    "plan.ended": "⏹️ Payment plan ended: reminders resume for {numbers}.",
    "plan.unknown_invoice": "Unknown invoice.",
    "plan.not_plannable": "Invoice {number} cannot be put in a payment plan (paid, disputed or written off).",
    "plan.not_in_plan": "Invoice {number} follows no running payment plan.",
    "plan.not_proposed": "This payment plan is no longer waiting.",
    "plan.err.count": "A payment plan has {low} to {high} instalments (here {count}).",
    "plan.err.too_small": "{balance} cannot be split into {count} instalments of at least one cent.",
    "plan.err.amount": "Instalment {number}: the amount must be positive (here {amount}).",
    "plan.err.cents": "Instalment {number}: the amount {amount} has more than two decimals.",
    "plan.err.past": "Instalment {number}: the date {day} must be after today.",
    "plan.err.too_far": "Instalment {number}: {day} is more than two years from today.",
    "plan.err.order": "Instalment {number}: {day} must come after the previous instalment ({previous}).",
    "plan.err.total": "The instalments add up to {total}, but {balance} is owed (difference: {gap}).",
    "plan.err.empty": "The schedule is empty: type one instalment per line, the date then the amount.",
    "plan.err.line": "Line {number} (“{text}”): write the date then the amount, e.g. 15/01/2027 500.00.",
    "plan.err.line_date": "Line {number} (“{text}”): the date is not valid; write it DD/MM/YYYY.",
    "plan.err.line_amount": "Line {number} (“{text}”): the amount is not valid; write e.g. 500.00.",
    "plan.summary": "📅 Running payment plan ({numbers}): {paid} paid of {total}, {done}/{count} instalments settled.",
    "plan.next": "Next instalment: {day}, {amount}.",
    "plan.late": "⚠️ Late instalments: {count}, {amount} in all.",
    "plan.suffix": " · 📅 next instalment {day} ({amount})",
    "slack.plan.title": "Payment plan",
    "slack.plan.count": "Number of equal monthly instalments",
    "slack.plan.schedule": "Or your instalments, one per line",
    "slack.plan.hint": "The date then the amount, e.g. 15/01/2027 500.00; the total must be {total}.",
    "slack.plan.submit": "Prepare the e-mail",
    "state.plan": "📅 Payment plan running: no reminder for these invoices while it is followed.",
    "card.call_first": "📞 Key account: a phone call from you first is advised (call script).",
    "btn.resend": "🔁 Send again anyway",
    "btn.sent_ok": "✅ It went out",
    "cb.already": "Already handled.",
    "cb.unknown": "This button is not recognised; nothing was done.",
    "biz.pick": "You run several businesses. Which one do you want to work on? (now: {name})",
    "biz.only": "You run one business: {name}.",
    "biz.chosen": "Done: commands and buttons are now about {name}.",
    "cb.sending": "Sending…",
    "cb.done": "Done.",
    "cb.paid": "Payment recorded.",
    "cb.choose": "Pick an option.",
    "digest.header": (
        "☀️ <b>{count} reminder(s) await your approval</b>\nOverdue in total: {overdue} · outstanding: {open}"
    ),
    "digest.nothing": "☀️ Nothing to chase today. Outstanding: {open}, of which {overdue} overdue.",
    "digest.paused": "⏸️ Reminders are paused (see /settings). Outstanding: {open}, of which {overdue} overdue.",
    "digest.footer": "Evidence log fingerprint: <code>{head}</code>",
    "digest.uncertain": (
        "⚠️ <b>{count} send(s) with an uncertain status</b>: reminders to these clients are on hold. Check your "
        "sent mail (or ask the client), then tap “It went out” or “Send again anyway”."
    ),
    "digest.missed": (
        "⚠️ <b>Yesterday's digest could not be sent</b> before the end of the sending window (Telegram's sending "
        "limit, or the service was stopped). Its reminders still waiting are below."
    ),
    "digest.missed_day": (
        "⚠️ <b>The digest of {day} could not be sent</b> before the end of the sending window (Telegram's sending "
        "limit, or the service was stopped). Its reminders still waiting are below."
    ),
    "confirm.done": "Noted: the reminder counts as sent and the next step is scheduled.",
    "step.pre_reminder": "Pre-reminder",
    "step.reminder_1": "Reminder 1",
    "step.reminder_2": "Reminder 2",
    "step.formal_notice": "Formal notice",
    "step.promise_broken": "Promise not kept",
    "card.title": "<b>{client}</b> · {step}",
    "card.promise_broken": "🤝❌ The promise to pay was not kept: next step proposed.",
    "card.invoice": "📄 {number} · {balance} · due {due}{late}",
    "card.late": " · <b>{days} d overdue</b>",
    "card.not_yet_due": " · in {days} d",
    "card.total": "Total due: <b>{total}</b>",
    "card.to": "✉️ To: {to}",
    "card.no_email": "✉️ No e-mail address known for this client.",
    "card.subject": "<b>Subject:</b> {subject}",
    "card.edited": "✏️ Text edited by you.",
    "card.cut": "… (continued with “Show the rest”)",
    "card.failed": "❌ The last attempt failed: {reason}",
    "card.draft_broken": (
        "⛔ The message could not be drafted, so it cannot be sent: {reason}\nFix the template, then /digest."
    ),
    "draft.broken": "⛔ Nothing was sent: the message could not be drafted ({reason}).",
    "state.sent": "✅ Sent on {day} at {time} to {to}",
    "state.scheduled": "🕗 Approved: leaves on {day} at {time} (sending window).",
    "state.queued": "📤 Approved, sending…",
    "state.deferred": "🕗 The mail server deferred the message ({reason}): next try on {day} at {time}.",
    "state.unknown": (
        "⚠️ Uncertain status: the server may have received it. Check your sent mail: “It went out” if it did, "
        "otherwise “Send again anyway”."
    ),
    "state.snoozed": "⏰ Snoozed until {day}.",
    "state.cancelled": "✔️ Nothing left to chase (paid, disputed or promised).",
    "state.paid": "💶 Paid.",
    "state.disputed": "⚖️ Disputed: {reason}",
    "state.promised": "🤝 Promised payment by {day}.",
    "state.other": "State: {state}",
    "send.failed": "❌ Sending failed: {reason}\nThe reminder is still waiting; you can try again.",
    "send.no_email": "This client has no e-mail address: add it (CSV import) before sending.",
    "send.no_sender": "No sender address: set MAIL_FROM in the configuration.",
    "ask.edit": (
        "✏️ Send the new text of the message.\nA first line “Subject: …” also replaces the subject. /cancel to stop."
    ),
    "ask.dispute": "⚖️ In a few words, what is the dispute about? /cancel to stop.",
    "ask.promise": "🤝 By which date did the client promise to pay? (DD/MM or DD/MM/YYYY) /cancel to stop.",
    "ask.snooze_date": "📅 Snooze until which date? (DD/MM or DD/MM/YYYY) /cancel to stop.",
    "ask.amount": "💶 How much did you receive? (e.g. 450.00) /cancel to stop.",
    "ask.cancelled": "OK, nothing was changed.",
    "ask.nothing": "There is nothing to cancel.",
    "edit.saved": "✏️ New text saved. Check it, then send:",
    "edit.too_long": (
        "This text is too long ({length} characters): {limit} at most. Nothing was changed. "
        "Tap ✏️ Modifier again to send a shorter text, in a single message."
    ),
    "edit.empty": "The text is empty. Send the new text, or /cancel.",
    "edit.bad_subject": "The subject must fit on one line of at most {limit} characters. Nothing was changed.",
    "edit.undone": "Original text restored.",
    "dispute.saved": "⚖️ Dispute recorded: reminders for these invoices stop until it is closed.",
    "dispute.too_long": "Reason too long ({length} characters): {limit} at most. Nothing was changed.",
    "dispute.empty": "Give a reason (a few words), or /cancel.",
    "promise.saved": "🤝 Promise noted: no reminder before {day}. If nothing comes, I'll tell you.",
    "snooze.saved": "⏰ Snoozed until {day}.",
    "date.invalid": "“{text}” is not a valid date. Write DD/MM or DD/MM/YYYY, e.g. 05/12/2026.",
    "date.past": "{day} is already past: give a future date.",
    "date.too_far": "{day} is too far ahead (one year at most).",
    "amount.invalid": "“{text}” is not a valid amount. Write e.g. 450.00.",
    "amount.not_positive": "The amount must be greater than zero.",
    "amount.too_much": "This amount is more than what is owed ({owed}). Nothing was recorded.",
    "pay.saved": "💶 Payment of {amount} recorded. Still owed: {left}.",
    "pay.saved_full": "💶 Payment of {amount} recorded: invoice(s) settled, reminders stopped.",
    "action.failed": "Not possible: {reason}",
    # --- drafts outside the ladder (issue 10: thanks, penalty claim, plan schedule, plan reminder) ---
    "step.thanks": "🙏 Thank-you",
    "step.penalty_claim": "⚖️ Penalty claim",
    "step.plan_schedule": "📅 Proposed payment schedule",
    "step.plan_reminder": "⏰ Missed instalment",
    "card.extra_invoice": "📄 {number} · {amount} · due {due}{left}",
    "card.extra_paid": " · paid",
    "card.extra_left": " · {balance} left",
    "btn.drop": "🗑 Don't send",
    "drop.done": "🗑 Draft dropped: nothing will be sent.",
    "state.dropped": "🗑 Not sent: draft dropped.",
    "extra.unknown_invoice": "Unknown invoice: nothing was drafted.",
    "extra.unknown_client": "Unknown client: nothing was drafted.",
    "extra.unknown_plan": "Unknown payment plan: nothing was drafted.",
    "extra.consumer": (
        "Invoice {number} is a consumer's: no commercial late-payment interest nor fixed compensation can be claimed."
    ),
    "extra.not_claimable": "Invoice {number} was not paid late, or not in full: there are no penalties to claim.",
    "extra.no_plan": "Invoice {number} follows no running payment plan.",
    "extra.plan_not_proposed": "This payment plan can no longer be proposed: already sent, ended or cancelled.",
    "extra.plan_same_day": "Another payment plan was already proposed to this client today: drop it first.",
    "payments.thanks": "🙏 {count} “thank you” draft(s) to approve.",
    "start": (
        "👋 Hello! I am <b>Relance</b>, your assistant for unpaid invoices.\n\n"
        "Every morning at {digest_time} I send you today's reminders. One button each: "
        "✅ Send, ✏️ Edit, ⏰ Snooze, 💶 Paid, ⚖️ Dispute or 🤝 Promise.\n\n"
        "<b>First steps</b>\n"
        "1. Send /import then your invoices CSV file.\n"
        "2. Type /digest to see today's reminders.\n"
        "3. Type /status for the dashboard.\n\n"
        "All commands: /help"
    ),
    "help": (
        "<b>Commands</b>\n"
        "/digest: today's reminders\n"
        "/status: outstanding, overdue, top debtors, next 7 days, chart\n"
        "/invoices [client]: open invoices\n"
        "/client NAME: a client's invoices and history\n"
        "/paid NUMBER [amount]: record a payment\n"
        "/import: import an invoices CSV file\n"
        "/preuves NUMBER: the evidence file of an invoice (ZIP)\n"
        "/disputes: open disputes (resume the reminders or write off)\n"
        "/tasks: Relance's questions (over-payments, penalties, promises, instalments, credit notes)\n"
        "/replies: clients' e-mail replies and undelivered e-mails to handle\n"
        "/transfers: the bank statements' credits whose invoice is still to be confirmed\n"
        "/resume NUMBER: close an invoice's dispute and resume its reminders\n"
        "/settings: digest time, pause\n"
        "/rate [HALF-YEAR RATE]: the ECB rates of the last half-years, or add one (/rate 2026-H2 2.15)\n"
        "/cancel: leave the current question\n\n"
        "<b>Reminder buttons</b>\n"
        "✅ Send the e-mail · ✏️ Edit the text · ⏰ Snooze · 💶 Paid · ⚖️ Dispute · 🤝 Promise"
    ),
    "status.title": "📊 <b>Dashboard on {day}</b>",
    "status.totals": (
        "Outstanding: <b>{open}</b> ({open_count} invoice(s))\nOverdue: <b>{overdue}</b> ({overdue_count} invoice(s))"
    ),
    "status.by_state": "Invoices by state: {counts}",
    "status.state_count": "{state}: {count}",
    "status.aging": "<b>Aging of overdue amounts</b>",
    "status.bucket": "{label} d: {amount} ({count})",
    "status.top": "<b>Top debtors</b>",
    "status.debtor": "{rank}. {name}: {amount} ({invoices} invoice(s), {days} d)",
    "status.none": "none",
    "status.upcoming": "<b>Next 7 days</b>",
    "status.upcoming_line": "{day} · {client} · {step} · {amount}",
    "status.recovered": "Recovered this month: <b>{amount}</b>",
    "status.uncertain": "⚠️ Uncertain send: {client} ({step}, {amount}). Check, then decide on its card.",
    "status.chart_caption": "Overdue amounts by age",
    "chart.title": "Overdue amounts by age",
    "chart.xlabel": "Days overdue",
    "chart.ylabel": "Amount (€)",
    "invoices.title": "<b>Open invoices</b>{filter}",
    "invoices.filter": " · “{text}”",
    "invoices.line": "{number} · {client} · {balance} · due {due}{late} · {state}",
    "invoices.none": "No open invoice.",
    "invoices.left": "{balance} left of {amount}",
    "invoices.more": "… and {count} more.",
    # invoice states in words: one place, messages.states (the evidence file reads it too)
    **{f"invstate.{state}": label for state, label in STATE_LABELS["en"].items()},
    "invstate.promised_until": PROMISED_UNTIL["en"],
    # an action the invoice's state does not allow (dunning.invoice_states.IllegalTransition, services.refusals)
    "illegal.not_when.resolve_dispute": (
        "Invoice {number} is not disputed: it is {state}. There is no dispute to close; nothing was changed."
    ),
    "illegal.not_when.reopen": (
        "Invoice {number} was not written off: it is {state}. There is nothing to reopen; nothing was changed."
    ),
    "illegal.not_when.end_plan": (
        "Invoice {number} is not in a payment plan: it is {state}. There is no plan to end; nothing was changed."
    ),
    "illegal.not_when.open_dispute": "A dispute cannot be opened: invoice {number} is {state}. Nothing was changed.",
    "illegal.not_when.promise": (
        "A promise to pay cannot be recorded: invoice {number} is {state}. Nothing was changed."
    ),
    "illegal.not_when.start_plan": (
        "A payment plan cannot be granted: invoice {number} is {state}. Nothing was changed."
    ),
    "illegal.amount": "The amount {amount} will not do: give a positive amount, to the cent. Nothing was changed.",
    "illegal.payment_written_off": (
        "Invoice {number} is {state}: reopen it before recording a payment. Nothing was changed."
    ),
    "illegal.credit_closed": (
        "A credit note cannot be applied: invoice {number} is {state}, nothing is owed. Nothing was changed."
    ),
    "illegal.credit_too_much": (
        "The credit note of {amount} is more than the {balance} still owed on invoice {number}. Nothing was changed."
    ),
    "illegal.dispute_reason": "Give the reason for the dispute. Nothing was changed.",
    "illegal.already_disputed": (
        "Invoice {number} is already disputed: close the dispute or write the invoice off. Nothing was changed."
    ),
    "illegal.write_off_closed": (
        "Invoice {number} cannot be written off: it is {state}, nothing is owed. Nothing was changed."
    ),
    "illegal.promise_past": "The promised date, {until}, is already past. Nothing was changed.",
    "illegal.plan_short": (
        "A payment plan has at least two instalments (a single date is a promise to pay). Nothing was changed."
    ),
    "illegal.plan_past": "The first instalment, on {due}, is already past. Nothing was changed.",
    "illegal.plan_order": (
        "The instalment dates must follow each other, each after the previous one. Nothing was changed."
    ),
    "illegal.plan_total": "The instalments add up to {total}, not to the {balance} still owed. Nothing was changed.",
    "client.usage": "Usage: /client NAME (part of the name is enough). New address: /client NAME email new@address.com",
    "client.none": "No client matches “{text}”.",
    "client.several": "Several clients match: {names}. Be more specific.",
    "client.title": "<b>{name}</b>\n✉️ {emails} · 📞 {phone}",
    "client.invoices": "<b>Invoices</b>",
    "client.history": "<b>Reminder history</b>",
    "client.history_line": "{day} · {step} · {state}",
    "client.no_history": "No reminder yet.",
    "paid.usage": "Usage: /paid NUMBER [amount], e.g. /paid F-2026-042 or /paid F-2026-042 450.00",
    "paid.unknown": "No invoice number {number}.",
    "paid.nothing": "Invoice {number} is {state}: there is nothing left to pay.",
    "import.ask": (
        "📥 Send me your CSV file or an e-invoice (Factur-X PDF, CII or UBL XML), 5 MB at most. /cancel to stop."
    ),
    "import.not_csv": (
        "This file is neither a CSV nor an e-invoice (.csv, .pdf or .xml expected). Nothing was imported."
    ),
    "import.too_big": "This file is {size}: 5 MB at most. Nothing was imported.",
    "import.ok": (
        "📥 Import done ({filename}): {rows} row(s), {created} invoice(s) created, "
        "{updated} updated, {unchanged} unchanged, {clients} new client(s)."
    ),
    "import.errors": "❌ Import refused ({filename}): nothing was saved. {count} error(s):",
    "import.error_line": "line {line}{column}: {reason}",
    "import.more_errors": "… and {count} more error(s).",
    "import.failed": "The file could not be read: {reason}",
    "einvoice.invoice": "📥 Invoice {number} imported ({filename}): {client}, {amount} due on {due}{assumed}.",
    "einvoice.assumed": " (assumed due date: issue date + 30 days)",
    "einvoice.unchanged": "📥 Invoice {number} already imported ({filename}): nothing changed.",
    "einvoice.client_new": "New client created: {client}.",
    "einvoice.client_known": "Client recognised ({by}): {client}.",
    "einvoice.by.siren": "by SIREN",
    "einvoice.by.vat": "by VAT number",
    "einvoice.by.name": "by name",
    "einvoice.seller": "Issued by: {seller}.",
    "einvoice.credit_applied": (
        "📥 Credit note {number} ({filename}) of {amount} applied to invoice {invoice}: {balance} still due."
    ),
    "einvoice.credit_unchanged": "📥 Credit note {number} already applied to invoice {invoice}: nothing changed.",
    "einvoice.credit_to_assign": (
        "📥 Credit note {number} ({filename}) of {amount}: {reason}. It was applied to no invoice; please assign it."
    ),
    "einvoice.no_reference": "it names no invoice",
    "einvoice.unknown_reference": "the invoice it names, {reference}, is unknown",
    "einvoice.dry_run": "Dry run: nothing was saved.",
    "einvoice.error": "❌ Import refused ({filename}): nothing was saved.\n{reason}",
    "settings.title": (
        "⚙️ <b>Settings</b>\nDigest every day at <b>{digest_time}</b>.\nReminders: <b>{state}</b>.\n\n"
        "To change the time: /settings time HH:MM"
    ),
    "settings.running": "active",
    "settings.paused": "paused",
    "settings.pause": "⏸️ Pause everything",
    "settings.resume": "▶️ Resume reminders",
    "settings.now_paused": "⏸️ Reminders paused: no digest and no sending until you resume.",
    "settings.now_running": "▶️ Reminders resumed.",
    "settings.time_set": "⏰ Digest now at {digest_time}.",
    "settings.bad_time": "“{text}” is not a valid time. Write HH:MM, e.g. 08:30.",
    "rates.usage": "Usage: /rate HALF-YEAR RATE, e.g. /rate 2026-H2 2.15 (ECB rate, in %).",
    "rates.title": "📈 <b>ECB rates</b> (late-payment penalties: ECB rate plus 10 points)",
    "rates.line": "{half_year}: {rate}",
    "rates.line_missing": "{half_year}: ⚠️ missing",
    "rates.all_present": "The rates of the last half-years are known.",
    "rates.how_to_add": (
        "To add it: /rate {half_year} &lt;rate&gt; (the rate in percent, decimal point or comma). The rate "
        "to use is the ECB main refinancing operations rate in force on 1 January (half-year H1) or 1 July "
        "(half-year H2): see the ECB's or the Banque de France's site (“ECB key interest rates”). "
        "Relance never guesses a rate."
    ),
    "rates.set": (
        "📈 ECB rate for {half_year}: <b>{rate}</b> (late-payment penalties: {penalty_rate}). "
        "Recorded in the evidence log and used from now on."
    ),
    "rates.bad_half_year": (
        "“{text}” is not a half-year. Write the year, a dash and H1 or H2, e.g. 2026-H2. Nothing was changed."
    ),
    "rates.out_of_range": (
        "{half_year} is outside the accepted half-years ({earliest} to {latest}). Nothing was changed."
    ),
    "rates.bad_value": "“{text}” is not a rate. Write a percentage, e.g. 2.15. Nothing was changed.",
    "rates.implausible": "{text}% is not a plausible ECB rate (between -5 and 50%). Nothing was changed.",
    "rates.startup_missing": (
        "⚠️ <b>The ECB rate for {half_year} is missing.</b> Until it is added, reminders state the late-payment "
        "penalty rule but no amount for the days late in that half-year."
    ),
    "evidence.usage": "Usage: /preuves NUMBER, e.g. /preuves F-2026-042",
    "evidence.caption": "📁 Evidence file for invoice {number}",
    "evidence.failed": "Could not build the file: {reason}",
    "btn.dispute_resume": "▶️ Resume reminders",
    "btn.dispute_write_off": "🗑 Write off",
    "disputes.title": "⚖️ <b>{count} open dispute(s)</b>\nFor each: resume the reminders, or write the invoice off.",
    "disputes.none": "⚖️ No open dispute.",
    "disputes.more": "… and {count} more: /resume NUMBER resumes the reminders of an invoice.",
    "disputes.line": "⚖️ <b>{number}</b> · {client} · {amount}\nReason: {reason}",
    "disputes.resumed": "▶️ Dispute closed: invoice {number} is chased again.",
    "disputes.written_off": "🗑 Invoice {number} written off: it will not be chased any more.",
    "disputes.not_disputed": "This invoice is no longer disputed (state: {state}).",
    "resume.usage": "Usage: /resume NUMBER, e.g. /resume F-2026-042",
    "resume.not_disputed": "Invoice {number} is not disputed (it is {state}): nothing was changed.",
    "commands.disputes": "Open disputes",
    "commands.resume": "Resume reminders of a disputed invoice",
    "commands.start": "Introduction and first steps",
    "commands.help": "All commands",
    "commands.digest": "Today's reminders",
    "commands.status": "Dashboard",
    "commands.invoices": "Open invoices",
    "commands.client": "A client's file",
    "commands.paid": "Record a payment",
    "commands.import": "Import an invoices CSV",
    "commands.evidence": "Evidence file of an invoice",
    "commands.settings": "Digest time, pause",
    "commands.rates": "ECB rates (late-payment penalties)",
    "commands.cancel": "Leave the current question",
    "term.today": "Today: {day}",
    "term.choose": "Reminder no. (1-{count}), [t] dashboard, [q] quit: ",
    "term.action": "Action [e/m/r/p/l/o/s/q]: ",
    "term.actions_help": "e = send, m = edit, r = snooze, p = paid, l = dispute, o = promise, s = next, q = quit",
    "term.snooze": "Snooze by how many days (1, 3, 7) or until which date (DD/MM)? ",
    "term.amount": "Amount received (Enter = in full): ",
    "term.reason": "Dispute reason: ",
    "term.promise": "Promised date (DD/MM or DD/MM/YYYY): ",
    "term.edit": "New text (a first line “Subject: …” replaces the subject; end with a line “.”):",
    "term.eml": "✉️ E-mail written to {path}",
    "term.bye": "See you soon!",
    "term.no_more": "Nothing left to handle today.",
    "term.telegram": (
        "To get these reminders on Telegram: create a bot with @BotFather, then put in .env\n"
        "  TELEGRAM_BOT_TOKEN=<the token BotFather gave you>\n"
        "  OWNER_CHAT_IDS=<your Telegram user id (ask @userinfobot)>\n"
        "and run `make run` again. See README.md, “Using the Telegram bot”.\n"
        "On Slack: create the app from slack-manifest.yaml, then put in .env\n"
        "  SLACK_BOT_TOKEN=xoxb-…  SLACK_APP_TOKEN=xapp-…  SLACK_OWNER_IDS=<your Slack member id, U…>\n"
        "See README.md, “Using Relance in Slack”."
    ),
    "slack.card.truncated": "… (text cut: too long for a Slack message)",
    "slack.card.full_title": "Full e-mail",
    "slack.card.close": "Close",
    "slack.cmd.in_dm": "📬 The answer is in your direct messages with Relance (the app's Messages tab).",
    "slack.cmd.unknown": "I don't know the subcommand “{name}”.",
    "slack.cmd.help": (
        "<b>Commands</b> (/relance followed by a subcommand)\n"
        "/relance digest: today's reminders\n"
        "/relance status: outstanding, overdue, top debtors, next 7 days, chart\n"
        "/relance invoices [client]: open invoices\n"
        "/relance client NAME: a client's invoices and history\n"
        "/relance paid NUMBER [amount]: record a payment\n"
        "/relance evidence NUMBER: the evidence file of an invoice (ZIP)\n"
        "/relance disputes: open disputes (resume the reminders or write off)\n"
        "/relance tasks: Relance's questions (over-payments, penalties, promises, instalments, credit notes)\n"
        "/relance replies: clients' e-mail replies and undelivered e-mails to handle\n"
        "/relance transfers: the bank statements' credits whose invoice is still to be confirmed\n"
        "/relance resume NUMBER: close an invoice's dispute and resume its reminders\n"
        "/relance settings: digest time, pause\n"
        "/relance help: this help\n\n"
        "<b>Import</b>: send your invoices CSV file (5 MB at most) in this conversation.\n"
        "<b>Dashboard</b>: the app's Home tab.\n\n"
        "<b>Reminder buttons</b>\n"
        "✅ Send the e-mail · ✏️ Edit the text · ⏰ Snooze · 💶 Paid · ⚖️ Dispute · 🤝 Promise"
    ),
    "slack.cmd.client_usage": (
        "Usage: /relance client NAME (part of the name is enough). New address: "
        "/relance client NAME email new@address.com"
    ),
    "slack.cmd.paid_usage": (
        "Usage: /relance paid NUMBER [amount], e.g. /relance paid F-2026-042 or /relance paid F-2026-042 450.00"
    ),
    "slack.cmd.evidence_usage": "Usage: /relance evidence NUMBER, e.g. /relance evidence F-2026-042",
    "slack.cmd.resume_usage": "Usage: /relance resume NUMBER, e.g. /relance resume F-2026-042",
    "slack.cmd.disputes_more": "… and {count} more: /relance resume NUMBER resumes the reminders of an invoice.",
    "slack.cmd.settings": (
        "⚙️ <b>Settings</b>\nDigest every day at <b>{digest_time}</b>.\nReminders: <b>{state}</b>.\n\n"
        "To change the time: /relance settings time HH:MM"
    ),
    "slack.home.hint": "Updated after every action. All commands: /relance help",
    "slack.import.download_failed": "the download from Slack failed",
    "slack.cmd.unknown_text": "I'm not expecting any text here. Type /relance help to see what I can do.",
    "slack.modal.edit_title": "Edit the e-mail",
    "slack.modal.pay_title": "Payment received",
    "slack.modal.dispute_title": "Dispute",
    "slack.modal.promise_title": "Promise to pay",
    "slack.modal.snooze_title": "Snooze the reminder",
    "slack.modal.submit": "Save",
    "slack.modal.close": "Cancel",
    "slack.modal.subject": "Subject",
    "slack.modal.body": "Text of the e-mail",
    "slack.modal.body_hint": "At most {limit} characters. The text is sent as it is, without formatting.",
    "slack.modal.body_too_long_now": (
        "The current text is {length} characters long, more than the {limit} allowed here: write a shorter text."
    ),
    "slack.modal.body_empty": "The text is empty: write the message to send.",
    "slack.modal.body_too_long": "This text is too long ({length} characters): {limit} at most.",
    "slack.modal.edit_saved": "✏️ New text saved: check it on the card, then ✅ Send.",
    "slack.modal.amount": "Amount received",
    "slack.modal.amount_hint": (
        "Keep {balance} if it was paid in full. For a partial payment, enter the amount received, e.g. 450.00."
    ),
    "slack.modal.reason": "Reason for the dispute",
    "slack.modal.reason_hint": "A few words, at most {limit} characters.",
    "slack.modal.reason_empty": "Give a reason (a few words).",
    "slack.modal.promise_date": "Date the client promised to pay by",
    "slack.modal.date_missing": "Pick a date.",
    "slack.modal.snooze_choice": "Snooze for",
    "slack.modal.snooze_date": "Until (with “Other date”)",
    "slack.modal.snooze_pick": "Pick +1 d, +3 d, +7 d, or “Other date” and a date.",
    "slack.modal.snooze_both": "Pick either a delay or “Other date” with a date, not both.",
    # bank statements in (relance payments, a statement sent to the bot)
    "payments.error": "❌ Statement {filename} refused{where}: {reason}. Nothing was recorded.",
    "payments.error_line": " (line {line})",
    "payments.title": "🏦 Statement {filename} ({format}):",
    "payments.recorded": "💶 {count} payment(s) recorded, {total} in all.",
    "payments.recorded_dry": "💶 {count} payment(s) would be recorded, {total} in all.",
    "payments.line": "  • {number} ({client}): {amount}, received on {day}",
    "payments.paid": "✅ Invoice(s) now paid: {numbers}.",
    "payments.cancelled": "🔕 {count} waiting reminder(s) cancelled: their invoices are paid.",
    "payments.to_confirm": "❓ {count} payment(s) to confirm:",
    "payments.doubtful_line": "  • {amount} of {day} ({payer}): is it invoice {candidates}?",
    "payments.overpaid": (
        "⚠️ Overpayment of {excess} on the transfer of {amount} of {day} ({payer}): the balance of {numbers} is "
        "paid, the excess is to refund or to assign."
    ),
    "payments.unknown_payer": "payer not given",
    "payments.no_invoice": "no open invoice",
    "payments.foreign": "🌍 {count} line(s) in another currency, not matched: {lines}.",
    "payments.unmatched": "➖ {count} line(s) match no open invoice.",
    "payments.known": "🔁 {count} line(s) already imported: skipped.",
    "payments.nothing_new": "Nothing new in this statement.",
    "payments.settled": "🙏 All paid up: {clients}. A “thank you for your payment” message can be offered to them.",
    "payments.dry_run": "Dry run (--dry-run): nothing was recorded.",
    "payments.or": "or",
    "payments.and_more": " and {count} more",
    "payments.reason": "{reason} (detail: {detail})",
    "payments.reason.no_credit": "no credit in this statement (only debits, or nothing booked)",
    "payments.reason.camt_version": "this XML file is not a supported CAMT.053 statement (.001.02 to .001.08)",
    "payments.reason.camt_entry": "an entry has no amount or booking date",
    "payments.reason.bad_xml": "the XML file is not well-formed, or is truncated",
    "payments.reason.unreadable": "the file cannot be read",
    "payments.reason.too_big": "the file is too big (50 MB at most)",
    "payments.reason.empty": "the file is empty",
    "payments.reason.xml_entities": "the file holds a DTD or XML entities, refused for safety",
    "payments.reason.csv_binary": "this is a binary file, not a CSV export",
    "payments.reason.csv_profile": "this bank is not known",
    "payments.reason.csv_unknown": "the columns of this CSV match no known bank export",
    "payments.reason.csv_columns": "the columns named for this CSV do not fit",
    "payments.reason.csv_date": "a date cannot be read",
    "payments.reason.csv_amount": "an amount cannot be read",
    "payments.reason.ofx_empty": "this OFX file holds no transaction",
    "payments.reason.ofx_amount": "a transaction has an unreadable amount",
    "payments.reason.ofx_date": "a transaction has no date (DTPOSTED)",
    "payments.reason.ofx_bad": "this is not an OFX file",
    "statement.line": "💶 {amount} received on {day} from {payer} (“{remittance}”).",
    "statement.line_bare": "💶 {amount} received on {day} from {payer}.",
    "statement.ask": "Is it invoice {number} ({client}, {balance} still due)?",
    "statement.choose": "Which invoice does this transfer pay?",
    "statement.no_candidate": "No open invoice matches this transfer for now.",
    "statement.btn_yes": "✅ Yes",
    "statement.btn_other": "🔎 Another invoice",
    "statement.btn_ignore": "🚫 Ignore",
    "statement.btn_invoice": "{number} · {client} · {balance}",
    "statement.recorded": "✅ Payment of {amount} recorded on invoice {number}.",
    "statement.excess": "⚠️ Over-payment of {excess}: not kept; refund it to the client or assign it.",
    "statement.ignored": "🚫 Transfer ignored: no payment was recorded.",
    # /transfers: the doubtful credits still waiting
    "commands.transfers": "Statement credits to match with an invoice",
    "transfers.title": "💶 <b>{count} credit(s) to match</b>: say which invoice each one pays.",
    "transfers.none": "No credit waiting: every credit of the imported statements was matched or set aside.",
    "transfers.more": "… and {count} more, shown once these are handled (/transfers).",
    # --- registered letters (LRAR) of formal notices ---
    "btn.lrar_sent": "✉️ Registered letter sent",
    "btn.lrar_presented": "📮 First delivery attempt",
    "btn.lrar_received": "📬 Receipt back",
    "btn.lrar_unclaimed": "📭 Unclaimed",
    "btn.lrar_returned": "↩️ Returned",
    "card.lrar": "✉️ Registered letter no. {number} sent on {sent}{presented}.",
    "card.lrar_presented": ", presented on {day}",
    "card.lrar_awaiting": "📬 Waiting for the acknowledgment of receipt.",
    "card.lrar_received": "📬 Acknowledgment of receipt signed on {day}{proof}.",
    "card.lrar_proof": " (scan kept)",
    "card.lrar_unclaimed": "📭 Notified but unclaimed: the formal notice holds from its first presentation.",
    "card.lrar_returned": "↩️ The letter came back undelivered: check the client's address.",
    "card.lrar_deadline": "⏳ Deadline to pay: {deadline} ({basis}).",
    "card.lrar_from_presentation": "counted from the first presentation",
    "card.lrar_from_posting": "counted from posting until the presentation date is known",
    "ask.lrar_sent": (
        "✉️ La Poste tracking number and posting date, e.g. 1A12345678901 28/11/2026 (without the date, I will ask "
        "for it). /cancel to stop."
    ),
    "ask.lrar_sent_date": "📅 When was the registered letter posted? (DD/MM/YYYY, or “today”) /cancel to stop.",
    "ask.lrar_received": (
        "📬 Date of receipt written on the acknowledgment? (DD/MM/YYYY) You may also send the photo or PDF of the "
        "signed acknowledgment right away, with the date as its caption. /cancel to stop."
    ),
    "ask.lrar_proof": (
        "📎 Send the photo or PDF of the signed acknowledgment of receipt, or type “none” if you do not have it. "
        "/cancel to stop."
    ),
    "ask.lrar_unclaimed": "📭 Date of the first presentation (on the delivery notice)? (DD/MM/YYYY) /cancel to stop.",
    "ask.lrar_presented": (
        "📮 Date of the letter's first delivery attempt (La Poste tracking or delivery notice)? (DD/MM/YYYY, or "
        "“today”) The deadline to pay will run from that day. /cancel to stop."
    ),
    "ask.lrar_returned": "↩️ When did the letter come back? (DD/MM/YYYY, or “today”) /cancel to stop.",
    "lrar.bad_tracking": (
        "“{text}” is not a La Poste tracking number: two letters or digits, then digits, 11 to 13 characters in all "
        "(here {length}). For example: 1A12345678901 or AR123456789FR."
    ),
    "lrar.date_future": "{day} has not come yet: give the date written on the document.",
    "lrar.date_too_old": "{day} is more than a year ago: check the date.",
    "lrar.date_before_sent": "{day} is before the letter was posted ({sent}): check the date.",
    "lrar.proof_too_big": "This file is over {limit} MB: send a lighter photo or PDF.",
    "lrar.proof_type": (
        "This file is neither a photo (JPEG, PNG) nor a PDF: send the photo or PDF scan of the acknowledgment, or "
        "type “none”."
    ),
    "lrar.proof_failed": "The file could not be downloaded: send it again, or type “none”.",
    "lrar.sent_saved": (
        "✉️ Registered letter no. {number} recorded, posted on {day}. Deadline to pay: {deadline} for now; it will "
        "be counted from the first presentation once known."
    ),
    "lrar.presented_saved": "📮 First presentation on {day} recorded: deadline to pay {deadline}.",
    "lrar.received_saved": (
        "📬 Acknowledgment of receipt of {day} recorded with its scan (SHA-256 in the evidence log). "
        "Deadline to pay: {deadline}."
    ),
    "lrar.received_saved_no_proof": (
        "📬 Acknowledgment of receipt of {day} recorded, without a scan. Deadline to pay: {deadline}."
    ),
    "lrar.unclaimed_saved": (
        "📭 Unclaimed letter recorded, presented on {day}: the formal notice holds from that day. "
        "Deadline to pay: {deadline}."
    ),
    "lrar.returned_saved": "↩️ Return of the letter recorded ({day}). Check the client's address before posting again.",
    "letters.title": "<b>Formal notices waiting for their acknowledgment of receipt</b>",
    "letters.line": "✉️ {client} · registered letter {number} posted on {sent}{presented} · deadline {deadline}",
    "letters.presented": ", presented on {day}",
    "slack.modal.lrar_sent_title": "Registered letter sent",
    "slack.modal.lrar_presented_title": "First delivery attempt",
    "slack.modal.lrar_received_title": "Receipt back",
    "slack.modal.lrar_unclaimed_title": "Unclaimed letter",
    "slack.modal.lrar_returned_title": "Returned letter",
    "slack.modal.tracking": "La Poste tracking number",
    "slack.modal.tracking_hint": "For example 1A12345678901 or AR123456789FR",
    "slack.modal.lrar_sent_date": "Posting date",
    "slack.modal.lrar_received_date": "Date of receipt (on the acknowledgment)",
    "slack.modal.lrar_proof": "Photo or PDF of the signed acknowledgment",
    "slack.modal.lrar_proof_hint": "Optional: JPEG, PNG or PDF, 10 MB at most.",
    "slack.modal.lrar_presented_date": "Date of first presentation (delivery notice)",
    "slack.modal.lrar_returned_date": "Date it came back",
    "slack.lrar.scan_after": "Once submitted, share the photo or PDF of the signed acknowledgment here.",
    "slack.lrar.share_scan": (
        "📎 Share in this conversation the photo or PDF of the signed acknowledgment of receipt (JPEG, PNG or PDF, "
        "10 MB at most): it will be recorded with the date of receipt. Without a scan, click below."
    ),
    "slack.lrar.no_scan": "Record without a scan",
    # --- phone calls and channels (issue 11 §2) ---
    "btn.call_done": "📞 Call made",
    "btn.call_no_answer": "📵 No answer",
    "btn.call_email": "✉️ Send the e-mail instead",
    "card.call_phone": '📞 To call: <a href="{tel}">{phone}</a>',
    "card.call_no_phone": "📞 To call, but no phone number is recorded for this client.",
    "card.call_attempts": "📵 No answer: {count} attempt(s), the last on {day} at {time}.",
    "card.call_script": "<b>Call script</b>",
    "card.call_script_missing": "(The call script could not be prepared: see the bot's log.)",
    "card.channel.registered_letter": (
        "✉️ Registered letter first: print the letter (📄 Letter PDF) and post it; this e-mail is its copy."
    ),
    "card.channel.email+letter": "✉️ E-mail and post: this e-mail, and the letter (📄 Letter PDF) to print and post.",
    "ask.call_outcome": "📞 What did the client say? Sum the call up in one line (or /cancel).",
    "call.saved": "📞 Call logged. Did the client promise, dispute or pay? Choose below.",
    "call.no_answer_saved": (
        "📵 Attempt logged. The card stays: call again later, put it off or send the e-mail instead."
    ),
    "call.email_chosen": "✉️ Here is the e-mail of the same step, ready to go.",
    "call.state_done": "📞 Call made on {day} at {time}: “{note}”",
    "call.note_empty": "Write in one line what the client said (or /cancel).",
    "call.note_too_long": "That is too long ({length} characters, {limit} at most): sum the call up in one line.",
    "call.outcome.reached": "client reached",
    "call.outcome.no_answer": "no answer",
    "client.last_call": "📞 Last call: on {day} at {time}, {outcome}{note}",
    "slack.modal.call_title": "Call made",
    "slack.modal.call_label": "What the client said, in one line",
    "slack.modal.call_empty": "Write in one line what the client said.",
    # owner tasks: the questions Relance asks (over-payment, late payment, broken promise, missed instalment, credit
    # note to assign) — bot/task_cards.py
    "commands.tasks": "Open questions (over-payments, penalties, promises, instalments, credit notes)",
    "tasks.header": "❓ Relance has {count} question(s) for you:",
    "tasks.none": "No open question.",
    "tasks.more": "… and {count} more: type /tasks to see them.",
    "tasks.overpayment": (
        "💶 <b>Over-payment</b> of {amount} on invoice {number} ({client}), received on {day}. "
        "It was not kept without you: what should be done with it?"
    ),
    "tasks.late_payment": (
        "⏱️ <b>Late payment</b>: invoice {number} ({client}) was paid {days} day(s) late. "
        "The late-payment penalties and the 40 EUR fixed indemnity are still due: claim them?"
    ),
    "tasks.promise_broken": (
        "🤝❌ <b>Promise not kept</b>: {client} promised to pay invoice {number} by {until} "
        "({balance} still due). Reminders have resumed."
    ),
    "tasks.instalment_missed": (
        "📅❌ <b>Instalment missed</b>: instalment no. {seq} due {due} ({amount}) of {client}'s payment plan "
        "(invoice {number}) was not paid. Remind the client, or end the plan (reminders resume)?"
    ),
    "tasks.credit_note": (
        "🧾 <b>Credit note to assign</b>: credit note {number} of {amount} ({client}) refers to invoice {reference}, "
        "unknown to Relance. Which invoice does it credit?"
    ),
    "tasks.credit_note_noref": (
        "🧾 <b>Credit note to assign</b>: credit note {number} of {amount} ({client}) names no invoice. "
        "Which invoice does it credit?"
    ),
    "tasks.no_open_invoice": "This client has no open invoice to assign it to.",
    "tasks.choose": "Which invoice of {client} should {amount} go to?",
    "tasks.btn.refunded": "↩️ Refunded",
    "tasks.btn.assign": "➡️ Assign to another invoice",
    "tasks.btn.keep": "💼 Keep as credit",
    "tasks.btn.claim": "⚖️ Claim the penalties",
    "tasks.btn.skip": "🚫 Do not claim",
    "tasks.btn.ok": "👌 OK",
    "tasks.btn.remind": "🔔 Remind",
    "tasks.btn.end": "⏹️ End the plan",
    "tasks.btn.ignore": "🚫 Ignore",
    "tasks.btn.back": "↩️ Back",
    "tasks.btn.invoice": "{number} · {balance} due",
    "tasks.done.refunded": "↩️ Noted: the over-payment of {amount} on invoice {number} was refunded to the client.",
    "tasks.done.kept": "💼 Noted: {amount} kept as credit for {client}.",
    "tasks.done.assigned": "➡️ {amount} assigned to invoice {number}.",
    "tasks.done.claimed": "⚖️ Penalty claim for invoice {number} drafted: review it and send it.",
    "tasks.done.reminded": "🔔 Instalment reminder (invoice {number}) drafted: review it and send it.",
    "tasks.done.ended": "⏹️ Payment plan ended: reminders of invoice {number} resume.",
    "tasks.done.credit_assigned": "🧾 Credit note {number} applied to invoice {invoice} ({balance} still due).",
    "tasks.done.credit_ignored": "🚫 Credit note {number} ignored: applied to no invoice.",
    "tasks.done.skipped": "🚫 Noted: the penalties will not be claimed.",
    "tasks.done.noted": "👌 Noted.",
    "tasks.no_candidate": "This client has no other open invoice to assign it to.",
    "tasks.refused": "Not possible: {reason}. Nothing was changed.",
    "tasks.failed": "This could not be done; nothing was changed. Please try again later.",
    # --- replies by e-mail (issue 11 §1): the reply and bounce cards, bot/reply_cards.py, services.reply_actions ---
    "commands.replies": "Clients' replies waiting",
    "step.reply": "↩️ Answer to the client",
    "replies.title": "📨 <b>Reply from {client}</b> · received {day} at {time}",
    "replies.bounce_title": "⚠️ <b>E-mail not delivered · {client}</b> · {day} at {time}",
    "replies.from": "From: {sender}\nSubject: {subject}",
    "replies.invoice": "📄 {number} · {balance} due",
    "replies.no_invoice_listed": "📄 No open invoice for this client.",
    "replies.attachments": "📎 Attachments: {names}",
    "replies.more": "… and {count} more",
    "replies.empty_text": "(message without text)",
    "replies.cut": "[… the rest is in the kept e-mail]",
    "replies.promise_hint": "🤝 Payment date found in the message: {day}.",
    "replies.promise_found": "🤝 The client offers to pay on <b>{day}</b>. Accept this date or give another one.",
    "replies.dispute_found": (
        "⚖️ Proposed reason (the client's text):\n“{reason}”\nKeep this reason or write another one."
    ),
    "replies.btn.answer": "↩️ Reply",
    "replies.btn.nothing": "👌 Nothing to do",
    "replies.btn.promise_accept": "✅ On {day}",
    "replies.btn.promise_other": "✏️ Another date",
    "replies.btn.dispute_accept": "✅ Keep this reason",
    "replies.btn.dispute_other": "✏️ Another reason",
    "replies.ask_promise": "🤝 By what date does the client promise to pay? (DD/MM or DD/MM/YYYY; /cancel to give up)",
    "replies.ask_dispute": "⚖️ What is the dispute about? Write it in a sentence or two (/cancel to give up).",
    "replies.ask_answer": (
        "↩️ Write your answer to the client as it should leave (/cancel to give up). It will be shown to you as a "
        "draft: nothing leaves until you approve it."
    ),
    "replies.answer_empty": "Your answer is empty: write the text to send to the client.",
    "replies.answer_too_long": "Your answer is {length} characters long; the limit is {limit}. Please shorten it.",
    "replies.nothing_owed": "This client owes nothing more on these invoices: nothing was recorded.",
    "replies.no_invoice": "No invoice of this client is linked to this message: the answer was not drafted.",
    "replies.answer_pending": (
        "An answer to another message of this client already waits for your approval: send or drop it first. "
        "Nothing was drafted."
    ),
    "replies.answer_same_day": (
        "Relance already sent this client an answer today: reply from your mailbox, or try again tomorrow. "
        "Nothing was drafted."
    ),
    "replies.done_paid": "💶 Payment recorded: the invoices are settled and reminders stopped.",
    "replies.done_promise": "🤝 Promise to pay by {day} recorded: reminders wait until then.",
    "replies.done_dispute": "⚖️ Dispute opened: these invoices will not be chased until it is closed.",
    "replies.done_nothing": "👌 Noted: nothing to do. This client's reminders resume.",
    "replies.done_answer": "↩️ Your answer is ready: review it below, then send it.",
    "replies.handled.paid": "✅ Handled: 💶 paid.",
    "replies.handled.promise": "✅ Handled: 🤝 promise to pay recorded.",
    "replies.handled.dispute": "✅ Handled: ⚖️ dispute opened.",
    "replies.handled.answered": "✅ Handled: ↩️ answer drafted.",
    "replies.handled.nothing": "✅ Handled: 👌 nothing to do.",
    "replies.handled.new_address": "✅ Handled: new address recorded.",
    "replies.handled.noted": "✅ Noted.",
    "replies.bounce": "The address {address} was refused by the server: {reason}",
    "replies.bounce_how": (
        "To give another address, send:\n<code>{command} {name} email new@address.com</code>\n"
        "The reminder concerned can then be sent again to the new address."
    ),
    "replies.header": "📨 {count} message(s) from clients wait for your decision:",
    "replies.none": "No client reply waiting.",
    "replies.bad_address": "“{address}” is not a valid e-mail address: nothing was changed.",
    "replies.address_changed": "📧 New address recorded: {address}. The refused addresses were removed.",
    "replies.send_again": "The reminder that bounced can now be sent again to the new address:",
    "replies.email_usage": "To change a client's address: <code>{command} NAME email new@address.com</code>",
    "replies.slack_answer_title": "Reply to the client",
    "replies.slack_answer_label": "Your answer",
    "replies.slack_answer_hint": "It will be shown to you as a draft: nothing leaves until you approve it.",
    "replies.slack_promise_title": "Promise to pay",
    "replies.slack_dispute_title": "Dispute",
    "replies.slack_dispute_label": "Reason of the dispute",
    "replies.mailbox_auth": (
        "📪 Relance cannot read the mailbox where clients' replies arrive: the IMAP server refuses the user name or "
        "the password. Check IMAP_USERNAME and IMAP_PASSWORD; Relance keeps trying by itself."
    ),
    "outbox.smtp_down": (
        "📮 Sending is down: the outgoing mail server (SMTP) does not answer, or refuses the user name and password. "
        "Approved e-mails stay in the queue and leave by themselves once sending works again; you will be told then."
    ),
    "outbox.smtp_up": (
        "📬 Sending is back: the outgoing mail server (SMTP) answers again, the waiting e-mails are leaving."
    ),
}

CATALOGUES = {"fr": FR, "en": EN}


def lang_of(language_code: str | None) -> str:
    """The catalogue for a Telegram language code: English for "en…", French otherwise."""
    return "en" if language_code and language_code.lower().startswith("en") else "fr"


def t(key: str, lang: str = "fr", /, **values: Any) -> str:
    """The text for `key` in `lang` (French when missing), with `values` substituted."""
    template = CATALOGUES.get(lang, FR).get(key) or FR[key]
    return template.format(**values) if values else template
