/** French (vouvoiement). The shape is English's (./en.ts): a missing or extra text is a type error. */
import type { Messages } from "./messages.ts";

export const fr: Messages = {
	email: {
		greeting: (name) => (name ? `Bonjour ${name},` : "Bonjour,"),
		link: (label, url) => `${label} : ${url}`,
		cancelPrebook: "Annuler cette réservation",
		stopRestockEmails: "Ne plus recevoir d’e-mails de disponibilité",
		restock: {
			subject: (title) => `De retour en stock : ${title}`,
			body: (p) => [
				`« ${p.title} », que vous avez réservé, est de nouveau disponible depuis le ${p.since}, au prix de ${p.price}.`,
				"Les premiers à commander seront les premiers servis.",
			],
			action: "Obtenir mon exemplaire avant qu’il ne soit de nouveau épuisé",
			reason: "Vous recevez cet e-mail parce que vous avez réservé ce livre.",
		},
		offer: {
			subject: (title) => `Un exemplaire vous est réservé : ${title}`,
			body: (p) => [
				`C’est votre tour : un exemplaire de « ${p.title} » (${p.price}) vous est réservé jusqu’au ${p.until}.`,
				"Passé ce délai, il ira à la personne suivante dans la file d’attente.",
			],
			action: "L’acheter avant cette date",
			reason:
				"Vous recevez cet e-mail parce que vous avez réservé ce livre et que vous êtes désormais en tête de la file d’attente.",
		},
		drawn: {
			subject: (title) => `Le tirage au sort vous a désigné : ${title}`,
			body: (p) => [
				`Le tirage au sort pour « ${p.title} » vous a désigné : un exemplaire (${p.price}) vous est réservé jusqu’au ${p.until}.`,
				`Tout le monde peut vérifier le tirage : ${p.drawsUrl}. Passé ce délai, l’exemplaire ira à la personne suivante désignée par le tirage.`,
			],
			action: "L’acheter avant cette date",
			reason:
				"Vous recevez cet e-mail parce que vous avez réservé ce livre et que le tirage au sort vous a désigné pour un exemplaire.",
		},
		guestConfirmation: {
			subject: (title) => `Confirmez votre réservation : ${title}`,
			body: (p) => [
				`Quelqu’un – vous, nous l’espérons – a demandé à recevoir un e-mail quand « ${p.title} » sera de nouveau en stock.`,
				`Confirmez pour prendre place dans la file d’attente. Le lien est valable jusqu’au ${p.until}. Si ce n’était pas vous, ignorez simplement cet e-mail : rien ne se passera.`,
			],
			action: "Confirmer ma réservation",
			reason: "Vous recevez cet e-mail parce que cette adresse a été saisie pour réserver un livre.",
		},
		signUp: {
			subject: "Finalisez votre inscription",
			body: (p) => [
				"Quelqu’un – vous, nous l’espérons – a demandé à ouvrir un compte à la librairie avec cette adresse. Suivez le lien pour choisir votre mot de passe ; le compte existera dès lors.",
				`Le lien ne fonctionne qu’une fois, jusqu’au ${p.until}. Si ce n’était pas vous, ignorez simplement cet e-mail : aucun compte ne sera créé.`,
			],
			action: "Choisir mon mot de passe",
			reason: "Vous recevez cet e-mail parce que cette adresse a été saisie pour s’inscrire à la librairie.",
		},
		accountExists: {
			subject: "Vous avez déjà un compte",
			body: (p) => [
				"Quelqu’un – vous, nous l’espérons – a demandé à s’inscrire à la librairie avec cette adresse, qui a déjà un compte. Vous pouvez vous connecter avec votre mot de passe.",
				`Vous l’avez oublié ? Suivez le lien pour en choisir un nouveau (il ne fonctionne qu’une fois, jusqu’au ${p.until} ; tous les appareils connectés seront déconnectés). Si ce n’était pas vous, ignorez simplement cet e-mail : rien ne change.`,
			],
			action: "Réinitialiser mon mot de passe",
			reason: "Vous recevez cet e-mail parce que cette adresse a été saisie pour s’inscrire à la librairie.",
		},
		resetPassword: {
			subject: "Réinitialisez votre mot de passe",
			body: (p) => [
				"Quelqu’un – vous, nous l’espérons – a demandé à réinitialiser le mot de passe du compte de la librairie lié à cette adresse. Suivez le lien pour en choisir un nouveau ; tous les appareils connectés seront ensuite déconnectés.",
				`Le lien ne fonctionne qu’une fois, jusqu’au ${p.until}. Si ce n’était pas vous, ignorez simplement cet e-mail : votre mot de passe reste inchangé.`,
			],
			action: "Choisir un nouveau mot de passe",
			reason:
				"Vous recevez cet e-mail parce qu’une réinitialisation du mot de passe a été demandée pour cette adresse.",
		},
	},
	pages: {
		linkRefused: {
			title: "Ce lien ne peut pas être utilisé",
			unknown: "Ce lien est inconnu, déjà utilisé ou expiré.",
			help: "Les liens d’inscription fonctionnent une fois, pendant 24 heures ; les liens de réinitialisation du mot de passe une fois, pendant 1 heure ; les confirmations de réservation une fois, pendant 24 heures. Demandez-en un nouveau là où vous avez demandé celui-ci.",
		},
		passwordField: (label) => `${label} (8 à 128 caractères)`,
		passwordProblem: "Le mot de passe doit comporter entre 8 et 128 caractères.",
		nameProblem: "Le nom doit tenir sur une ligne et comporter au plus 255 caractères.",
		signUp: {
			title: "Finalisez votre inscription",
			signingUpAs: "Vous vous inscrivez en tant que",
			nameLabel: "Votre nom (facultatif)",
			passwordLabel: "Choisissez un mot de passe",
			submit: "Créer mon compte",
			doneTitle: "Votre compte est prêt",
			done: "Vous pouvez maintenant vous connecter avec le mot de passe choisi en tant que",
			completedMeanwhile:
				"L’inscription de cette adresse a été finalisée entre-temps : connectez-vous ou réinitialisez le mot de passe.",
			deactivated: "Le compte de cette adresse est désactivé.",
		},
		reset: {
			title: "Choisissez un nouveau mot de passe",
			forAccount: "Pour le compte de",
			passwordLabel: "Nouveau mot de passe",
			signsOut: "Tous les appareils connectés à ce compte seront déconnectés.",
			submit: "Enregistrer mon nouveau mot de passe",
			doneTitle: "Votre mot de passe a été modifié",
			done: "Tous les appareils qui étaient connectés ont été déconnectés. Connectez-vous avec votre nouveau mot de passe.",
		},
		guestConfirm: {
			title: "Confirmez votre réservation",
			intro: (p) =>
				`Prenez place dans la file d’attente pour « ${p.title} » avec l’adresse ${p.email} : vous recevrez un e-mail dès qu’un exemplaire sera disponible pour vous.`,
			submit: "Confirmer ma réservation",
			doneTitle: "Vous êtes dans la file d’attente",
			done: (title) =>
				`Votre réservation de « ${title} » est confirmée. Chaque e-mail à ce sujet contient un lien pour l’annuler.`,
			unverifiedAccount:
				"Cette adresse appartient à un compte qui n’est pas encore vérifié. Réinitialisez son mot de passe ou finalisez son inscription, puis réservez en étant connecté.",
			bookGone: "Ce livre ne figure plus au catalogue.",
			inStock: "Ce livre est de nouveau en stock : achetez-le plutôt.",
			limitReached: (limit) => `Vous avez déjà ${limit} réservations en attente.`,
			duplicate: "Vous avez déjà une réservation active pour ce livre.",
		},
		book: {
			by: (author) => `de ${author}`,
			price: (price) => `Prix : ${price}`,
			available: (count) =>
				count === 1
					? "1 exemplaire disponible en ce moment."
					: `${count} exemplaires disponibles en ce moment.`,
			outOfStock:
				"En rupture de stock : réservez-le, et vous recevrez un e-mail dès qu’un exemplaire sera disponible pour vous.",
			held: "Un exemplaire qui vous est réservé n’attend que vous, jusqu’à l’heure indiquée dans votre e-mail.",
			howToBuy:
				"Cette librairie n’a pas encore de boutique en ligne : connectez-vous avec son application (ou tout autre client de son API) et achetez-y le livre (POST /cart/items, puis POST /orders/checkout).",
			notFoundTitle: "Ce livre ne figure pas au catalogue",
			notFound: "Il a peut-être été retiré. Parcourez le catalogue pour en trouver d’autres.",
		},
		unsubscribe: {
			prebookTitle: "Annuler votre réservation",
			prebookWhat: (title) =>
				`Cela annule votre réservation${title ? ` de « ${title} »` : ""} : aucun e-mail ne vous signalera son retour, et un exemplaire qui vous était réservé ira à la personne suivante dans la file d’attente.`,
			prebookSubmit: "Annuler ma réservation",
			allTitle: "Ne plus recevoir d’e-mails de disponibilité",
			allWhat: (title) =>
				`Cela annule votre réservation${title ? ` de « ${title} »` : ""} et met fin à tous les e-mails de disponibilité de la librairie. Vous pourrez les réactiver dans les préférences de votre compte.`,
			allSubmit: "Ne plus recevoir ces e-mails",
			prebookDoneTitle: "Votre réservation est annulée",
			prebookDone: "C’est fait. Vous pouvez réserver ce livre de nouveau à tout moment.",
			allDoneTitle: "Vous ne recevrez plus d’e-mails de disponibilité",
			allDone: "C’est fait : la réservation est annulée et les e-mails de disponibilité sont désactivés.",
			closedTitle: "Rien à annuler",
			closed: (title) =>
				`Votre réservation${title ? ` de « ${title} »` : ""} n’est plus active : il n’y a rien à annuler.`,
			allWhatClosed: (title) =>
				`Cela met fin à tous les e-mails de disponibilité de la librairie (votre réservation${title ? ` de « ${title} »` : ""} n’est plus active). Vous pourrez les réactiver dans les préférences de votre compte.`,
			allDoneClosed: "C’est fait : les e-mails de disponibilité sont désactivés.",
			notFoundTitle: "Ce lien n’est pas valide",
			notFound:
				"Le lien est incomplet ou a été modifié. Utilisez le lien tel qu’il figure dans l’e-mail, ou gérez vos réservations dans votre compte.",
		},
	},
};
