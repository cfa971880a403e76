/**
 * English: every text the store writes to a reader — emails and the pages behind their links. It is the
 * reference shape (`Messages`, ./index.ts) and the fallback language; every other language is an object of
 * exactly this shape. Values are plain text: the email and page layouts escape them. Times and prices
 * arrive already formatted for the reader (./index.ts `formatDateTime`, `formatPrice`).
 */
export const en = {
	email: {
		greeting: (name: string | null) => (name ? `Hello ${name},` : "Hello,"),
		/** A link in the plain-text email: its label, then the URL. */
		link: (label: string, url: string) => `${label}: ${url}`,
		cancelPrebook: "Cancel this pre-booking",
		stopRestockEmails: "Stop all restock emails",
		restock: {
			subject: (title: string) => `Back in stock: ${title}`,
			body: (p: { title: string; price: string; since: string }) => [
				`"${p.title}", which you pre-booked, has been back in stock since ${p.since}, at ${p.price}.`,
				"Copies go to whoever buys first.",
			],
			action: "Get your copy before it sells out again",
			reason: "You received this email because you pre-booked this book.",
		},
		offer: {
			subject: (title: string) => `A copy is held for you: ${title}`,
			body: (p: { title: string; price: string; until: string }) => [
				`It's your turn: a copy of "${p.title}" (${p.price}) is held for you until ${p.until}.`,
				"After that it goes to the next reader in line.",
			],
			action: "Buy it before then",
			reason: "You received this email because you pre-booked this book and reached the front of its line.",
		},
		drawn: {
			subject: (title: string) => `You won the draw: ${title}`,
			body: (p: { title: string; price: string; until: string; drawsUrl: string }) => [
				`The draw for "${p.title}" picked you: a copy (${p.price}) is held for you until ${p.until}.`,
				`Anyone can check the draw: ${p.drawsUrl}. After that time the copy goes to the next reader the draw picked.`,
			],
			action: "Buy it before then",
			reason: "You received this email because you pre-booked this book and were drawn for a copy.",
		},
		guestConfirmation: {
			subject: (title: string) => `Confirm your pre-booking: ${title}`,
			body: (p: { title: string; until: string }) => [
				`Someone — hopefully you — asked to be told when "${p.title}" is back in stock.`,
				`Confirm to join the line. The link works until ${p.until}. If it was not you, ignore this email: nothing happens.`,
			],
			action: "Confirm my pre-booking",
			reason: "You received this email because this address was entered to pre-book a book.",
		},
		signUp: {
			subject: "Finish signing up",
			body: (p: { until: string }) => [
				"Someone — hopefully you — asked to open a bookstore account with this address. Follow the link to choose your password; the account exists from then on.",
				`The link works once, until ${p.until}. If it was not you, ignore this email: no account is made.`,
			],
			action: "Choose my password",
			reason: "You received this email because this address was entered to sign up at the bookstore.",
		},
		accountExists: {
			subject: "You already have an account",
			body: (p: { until: string }) => [
				"Someone — hopefully you — asked to sign up at the bookstore with this address, which already has an account. You can sign in with your password.",
				`Forgot it? Follow the link to choose a new one (it works once, until ${p.until}; every device signed in is signed out). If it was not you, ignore this email: nothing changes.`,
			],
			action: "Reset my password",
			reason: "You received this email because this address was entered to sign up at the bookstore.",
		},
		resetPassword: {
			subject: "Reset your password",
			body: (p: { until: string }) => [
				"Someone — hopefully you — asked to reset the password of the bookstore account of this address. Follow the link to choose a new one; every device signed in is then signed out.",
				`The link works once, until ${p.until}. If it was not you, ignore this email: your password stays as it is.`,
			],
			action: "Choose a new password",
			reason: "You received this email because a password reset was asked for this address.",
		},
	},
	pages: {
		linkRefused: {
			title: "This link cannot be used",
			unknown: "This link is unknown, used or expired.",
			help: "Sign-up links work once, for 24 hours; password reset links once, for 1 hour; pre-booking confirmations once, for 24 hours. Ask for a new one where you asked for this one.",
		},
		passwordField: (label: string) => `${label} (8 to 128 characters)`,
		passwordProblem: "The password must be 8 to 128 characters long.",
		nameProblem: "The name must be at most 255 characters, on one line.",
		signUp: {
			title: "Finish signing up",
			signingUpAs: "You are signing up as",
			nameLabel: "Your name (optional)",
			passwordLabel: "Choose a password",
			submit: "Create my account",
			doneTitle: "Your account is ready",
			done: "You can now sign in with the password you chose as",
			completedMeanwhile: "This address has completed its sign-up meanwhile: sign in, or reset the password.",
			deactivated: "The account of this address is deactivated.",
		},
		reset: {
			title: "Choose a new password",
			forAccount: "For the account of",
			passwordLabel: "New password",
			signsOut: "Every device signed in to the account is signed out.",
			submit: "Set my new password",
			doneTitle: "Your password is changed",
			done: "Every device that was signed in is signed out. Sign in with your new password.",
		},
		guestConfirm: {
			title: "Confirm your pre-booking",
			intro: (p: { title: string; email: string }) =>
				`Join the line for "${p.title}" as ${p.email}: you will get an email when a copy is there for you.`,
			submit: "Confirm my pre-booking",
			doneTitle: "You are in the line",
			done: (title: string) =>
				`Your pre-booking of "${title}" is confirmed. Every email about it has a link to cancel it.`,
			unverifiedAccount:
				"This address belongs to an account that is not verified yet. Reset its password or finish its sign-up, then pre-book signed in.",
			bookGone: "This book is no longer in the catalog.",
			inStock: "This book is in stock again: buy it instead.",
			limitReached: (limit: number) => `You already have ${limit} waiting pre-bookings.`,
			duplicate: "You already have an active pre-booking for this book.",
		},
		book: {
			by: (author: string) => `by ${author}`,
			price: (price: string) => `Price: ${price}`,
			available: (count: number) =>
				count === 1 ? "1 copy available now." : `${count} copies available now.`,
			outOfStock: "Out of stock: pre-book it, and you will be emailed when a copy is there for you.",
			held: "A copy held for you waits for you alone until the time in your email.",
			howToBuy:
				"This store has no shop front of its own yet: sign in with its app (or any client of its API) and buy the book there (POST /cart/items, then POST /orders/checkout).",
			notFoundTitle: "This book is not in the catalog",
			notFound: "It may have been removed. Browse the catalog for others.",
		},
		unsubscribe: {
			prebookTitle: "Cancel your pre-booking",
			prebookWhat: (title: string | null) =>
				`This cancels your pre-booking${title ? ` of "${title}"` : ""}: you will not be told when it is back, and a copy held for you goes to the next reader in line.`,
			prebookSubmit: "Cancel my pre-booking",
			allTitle: "Stop restock emails",
			allWhat: (title: string | null) =>
				`This cancels your pre-booking${title ? ` of "${title}"` : ""} and stops every restock email from the bookstore. You can turn them on again in your account's preferences.`,
			allSubmit: "Stop restock emails",
			prebookDoneTitle: "Your pre-booking is cancelled",
			prebookDone: "Done. You can pre-book the book again at any time.",
			allDoneTitle: "You will get no more restock emails",
			allDone: "Done: the pre-booking is cancelled and restock emails are off.",
			closedTitle: "Nothing to cancel",
			closed: (title: string | null) =>
				`Your pre-booking${title ? ` of "${title}"` : ""} is no longer active: there is nothing to cancel.`,
			allWhatClosed: (title: string | null) =>
				`This stops every restock email from the bookstore (your pre-booking${title ? ` of "${title}"` : ""} is no longer active). You can turn them on again in your account's preferences.`,
			allDoneClosed: "Done: restock emails are off.",
			notFoundTitle: "This link is not valid",
			notFound:
				"The link is incomplete or was changed. Use the link from the email as it is, or manage your pre-bookings in your account.",
		},
	},
};
