/** German (Sie-Form). The shape is English's (./en.ts): a missing or extra text is a type error. */
import type { Messages } from "./messages.ts";

export const de: Messages = {
	email: {
		greeting: (name) => (name ? `Hallo ${name},` : "Hallo,"),
		link: (label, url) => `${label}: ${url}`,
		cancelPrebook: "Diese Vormerkung stornieren",
		stopRestockEmails: "Keine Verfügbarkeits-E-Mails mehr erhalten",
		restock: {
			subject: (title) => `Wieder lieferbar: ${title}`,
			body: (p) => [
				`„${p.title}“, das Sie vorgemerkt haben, ist seit dem ${p.since} wieder lieferbar, zum Preis von ${p.price}.`,
				"Wer zuerst bestellt, bekommt ein Exemplar.",
			],
			action: "Jetzt Ihr Exemplar sichern, bevor es wieder vergriffen ist",
			reason: "Sie erhalten diese E-Mail, weil Sie dieses Buch vorgemerkt haben.",
		},
		offer: {
			subject: (title) => `Ein Exemplar ist für Sie reserviert: ${title}`,
			body: (p) => [
				`Sie sind an der Reihe: Ein Exemplar von „${p.title}“ (${p.price}) ist bis zum ${p.until} für Sie reserviert.`,
				"Danach geht es an die nächste Person in der Warteschlange.",
			],
			action: "Bis dahin kaufen",
			reason:
				"Sie erhalten diese E-Mail, weil Sie dieses Buch vorgemerkt haben und in der Warteschlange ganz vorne stehen.",
		},
		drawn: {
			subject: (title) => `Sie wurden ausgelost: ${title}`,
			body: (p) => [
				`Die Verlosung für „${p.title}“ hat Sie gezogen: Ein Exemplar (${p.price}) ist bis zum ${p.until} für Sie reserviert.`,
				`Jede und jeder kann die Verlosung nachprüfen: ${p.drawsUrl}. Nach Ablauf dieser Frist geht das Exemplar an die nächste ausgeloste Person.`,
			],
			action: "Bis dahin kaufen",
			reason:
				"Sie erhalten diese E-Mail, weil Sie dieses Buch vorgemerkt haben und für ein Exemplar ausgelost wurden.",
		},
		guestConfirmation: {
			subject: (title) => `Bitte bestätigen Sie Ihre Vormerkung: ${title}`,
			body: (p) => [
				`Jemand – hoffentlich Sie – möchte benachrichtigt werden, sobald „${p.title}“ wieder lieferbar ist.`,
				`Bestätigen Sie, um sich in die Warteschlange einzureihen. Der Link ist bis zum ${p.until} gültig. Falls Sie das nicht waren, ignorieren Sie diese E-Mail einfach: Es passiert nichts.`,
			],
			action: "Vormerkung bestätigen",
			reason: "Sie erhalten diese E-Mail, weil diese Adresse angegeben wurde, um ein Buch vorzumerken.",
		},
		signUp: {
			subject: "Registrierung abschließen",
			body: (p) => [
				"Jemand – hoffentlich Sie – möchte mit dieser Adresse ein Konto bei der Buchhandlung eröffnen. Folgen Sie dem Link, um Ihr Passwort festzulegen; ab dann besteht das Konto.",
				`Der Link funktioniert einmal, bis zum ${p.until}. Falls Sie das nicht waren, ignorieren Sie diese E-Mail einfach: Es wird kein Konto angelegt.`,
			],
			action: "Mein Passwort festlegen",
			reason:
				"Sie erhalten diese E-Mail, weil diese Adresse für eine Registrierung bei der Buchhandlung angegeben wurde.",
		},
		accountExists: {
			subject: "Sie haben bereits ein Konto",
			body: (p) => [
				"Jemand – hoffentlich Sie – wollte sich mit dieser Adresse bei der Buchhandlung registrieren, doch zu ihr gibt es bereits ein Konto. Sie können sich mit Ihrem Passwort anmelden.",
				`Passwort vergessen? Über den Link können Sie ein neues festlegen (er funktioniert einmal, bis zum ${p.until}; alle angemeldeten Geräte werden abgemeldet). Falls Sie das nicht waren, ignorieren Sie diese E-Mail einfach: Es ändert sich nichts.`,
			],
			action: "Mein Passwort zurücksetzen",
			reason:
				"Sie erhalten diese E-Mail, weil diese Adresse für eine Registrierung bei der Buchhandlung angegeben wurde.",
		},
		resetPassword: {
			subject: "Passwort zurücksetzen",
			body: (p) => [
				"Jemand – hoffentlich Sie – möchte das Passwort des Buchhandlungskontos dieser Adresse zurücksetzen. Folgen Sie dem Link, um ein neues festzulegen; danach werden alle angemeldeten Geräte abgemeldet.",
				`Der Link funktioniert einmal, bis zum ${p.until}. Falls Sie das nicht waren, ignorieren Sie diese E-Mail einfach: Ihr Passwort bleibt, wie es ist.`,
			],
			action: "Neues Passwort festlegen",
			reason:
				"Sie erhalten diese E-Mail, weil für diese Adresse das Zurücksetzen des Passworts angefordert wurde.",
		},
	},
	pages: {
		linkRefused: {
			title: "Dieser Link kann nicht verwendet werden",
			unknown: "Dieser Link ist unbekannt, bereits benutzt oder abgelaufen.",
			help: "Registrierungslinks funktionieren einmal, 24 Stunden lang; Links zum Zurücksetzen des Passworts einmal, 1 Stunde lang; Bestätigungen von Vormerkungen einmal, 24 Stunden lang. Fordern Sie dort, wo Sie diesen Link angefordert haben, einen neuen an.",
		},
		passwordField: (label) => `${label} (8 bis 128 Zeichen)`,
		passwordProblem: "Das Passwort muss 8 bis 128 Zeichen lang sein.",
		nameProblem: "Der Name darf höchstens 255 Zeichen lang sein und muss in eine Zeile passen.",
		signUp: {
			title: "Registrierung abschließen",
			signingUpAs: "Sie registrieren sich als",
			nameLabel: "Ihr Name (optional)",
			passwordLabel: "Passwort wählen",
			submit: "Mein Konto anlegen",
			doneTitle: "Ihr Konto ist bereit",
			done: "Sie können sich jetzt mit dem gewählten Passwort anmelden als",
			completedMeanwhile:
				"Für diese Adresse wurde die Registrierung inzwischen abgeschlossen: Melden Sie sich an oder setzen Sie das Passwort zurück.",
			deactivated: "Das Konto dieser Adresse ist deaktiviert.",
		},
		reset: {
			title: "Neues Passwort wählen",
			forAccount: "Für das Konto von",
			passwordLabel: "Neues Passwort",
			signsOut: "Alle Geräte, die bei diesem Konto angemeldet sind, werden abgemeldet.",
			submit: "Neues Passwort speichern",
			doneTitle: "Ihr Passwort wurde geändert",
			done: "Alle Geräte, die angemeldet waren, sind abgemeldet. Melden Sie sich mit Ihrem neuen Passwort an.",
		},
		guestConfirm: {
			title: "Vormerkung bestätigen",
			intro: (p) =>
				`Reihen Sie sich als ${p.email} in die Warteschlange für „${p.title}“ ein: Sie bekommen eine E-Mail, sobald ein Exemplar für Sie da ist.`,
			submit: "Vormerkung bestätigen",
			doneTitle: "Sie stehen in der Warteschlange",
			done: (title) =>
				`Ihre Vormerkung für „${title}“ ist bestätigt. Jede E-Mail dazu enthält einen Link, mit dem Sie sie stornieren können.`,
			unverifiedAccount:
				"Diese Adresse gehört zu einem Konto, das noch nicht bestätigt ist. Setzen Sie sein Passwort zurück oder schließen Sie die Registrierung ab und merken Sie das Buch dann angemeldet vor.",
			bookGone: "Dieses Buch ist nicht mehr im Sortiment.",
			inStock: "Dieses Buch ist wieder vorrätig: Kaufen Sie es stattdessen.",
			limitReached: (limit) => `Sie haben bereits ${limit} wartende Vormerkungen.`,
			duplicate: "Sie haben für dieses Buch bereits eine aktive Vormerkung.",
		},
		book: {
			by: (author) => `von ${author}`,
			price: (price) => `Preis: ${price}`,
			available: (count) =>
				count === 1 ? "Derzeit 1 Exemplar vorrätig." : `Derzeit ${count} Exemplare vorrätig.`,
			outOfStock:
				"Nicht vorrätig: Merken Sie es vor, und Sie bekommen eine E-Mail, sobald ein Exemplar für Sie da ist.",
			held: "Ein für Sie reserviertes Exemplar wartet bis zu dem Zeitpunkt in Ihrer E-Mail nur auf Sie.",
			howToBuy:
				"Diese Buchhandlung hat noch keinen eigenen Webshop: Melden Sie sich in ihrer App (oder einem anderen Client ihrer API) an und kaufen Sie das Buch dort (POST /cart/items, dann POST /orders/checkout).",
			notFoundTitle: "Dieses Buch ist nicht im Sortiment",
			notFound: "Vielleicht wurde es entfernt. Stöbern Sie im Katalog nach anderen.",
		},
		unsubscribe: {
			prebookTitle: "Vormerkung stornieren",
			prebookWhat: (title) =>
				`Damit stornieren Sie Ihre Vormerkung${title ? ` für „${title}“` : ""}: Sie werden nicht benachrichtigt, wenn das Buch wieder da ist, und ein für Sie reserviertes Exemplar geht an die nächste Person in der Warteschlange.`,
			prebookSubmit: "Meine Vormerkung stornieren",
			allTitle: "Keine Verfügbarkeits-E-Mails mehr",
			allWhat: (title) =>
				`Damit stornieren Sie Ihre Vormerkung${title ? ` für „${title}“` : ""} und erhalten keine Verfügbarkeits-E-Mails der Buchhandlung mehr. In den Einstellungen Ihres Kontos können Sie sie wieder einschalten.`,
			allSubmit: "Verfügbarkeits-E-Mails abbestellen",
			prebookDoneTitle: "Ihre Vormerkung ist storniert",
			prebookDone: "Erledigt. Sie können das Buch jederzeit wieder vormerken.",
			allDoneTitle: "Sie erhalten keine Verfügbarkeits-E-Mails mehr",
			allDone: "Erledigt: Die Vormerkung ist storniert und die Verfügbarkeits-E-Mails sind abbestellt.",
			closedTitle: "Nichts zu stornieren",
			closed: (title) =>
				`Ihre Vormerkung${title ? ` für „${title}“` : ""} ist nicht mehr aktiv: Es gibt nichts zu stornieren.`,
			allWhatClosed: (title) =>
				`Damit erhalten Sie keine Verfügbarkeits-E-Mails der Buchhandlung mehr (Ihre Vormerkung${title ? ` für „${title}“` : ""} ist nicht mehr aktiv). In den Einstellungen Ihres Kontos können Sie sie wieder einschalten.`,
			allDoneClosed: "Erledigt: Die Verfügbarkeits-E-Mails sind abbestellt.",
			notFoundTitle: "Dieser Link ist ungültig",
			notFound:
				"Der Link ist unvollständig oder wurde verändert. Verwenden Sie den Link genau so, wie er in der E-Mail steht, oder verwalten Sie Ihre Vormerkungen in Ihrem Konto.",
		},
	},
};
