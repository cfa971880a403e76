/**
 * The page behind the book link of a restock or held-copy email when the store has no storefront of its
 * own (APP_URL is this API: `bookPageUrl`, prebook-emails/templates.ts): the book, its price and whether
 * copies are there, in the browser's language. A read: nothing on it changes anything. A storefront serves
 * its own book page at `APP_URL/books/{id}` instead.
 */
import { html } from "hono/html";
import { formatPrice, type Locale, messagesFor } from "../../i18n/index.ts";
import { pageLayout } from "../../lib/pages.ts";

export interface BookPageView {
	title: string;
	author: string;
	priceCents: number;
	availableQuantity: number;
	heldQuantity: number;
}

export const bookPage = (locale: Locale, book: BookPageView) => {
	const texts = messagesFor(locale).pages.book;
	return pageLayout(
		locale,
		book.title,
		html`<p>${texts.by(book.author)}</p>
<p><strong>${texts.price(formatPrice(book.priceCents, locale))}</strong></p>
<p>${book.availableQuantity > 0 ? texts.available(book.availableQuantity) : texts.outOfStock}</p>
${book.heldQuantity > 0 ? html`<p>${texts.held}</p>` : ""}
<p>${texts.howToBuy}</p>`,
	);
};

export const bookNotFoundPage = (locale: Locale) => {
	const texts = messagesFor(locale).pages.book;
	return pageLayout(locale, texts.notFoundTitle, html`<p>${texts.notFound}</p>`);
};
