/**
 * The shape every language has: English's (./en.ts). A language file typed `Messages` that lacks a text,
 * has one too many, or gives a text other parameters fails to compile; test/i18n.test.ts compares the key
 * sets at runtime as well.
 */
import type { en } from "./en.ts";

export type Messages = typeof en;
