/**
 * The Java client of the Latchkey coordinator: sessions, locks, files, watches, election and
 * naming over the coordinator's HTTP API. It depends on nothing but the JDK.
 *
 * <p>Start with {@link dev.latchkey.client.Sequencer}, the proof of a lock grant that the client
 * hands to fenced writes.
 */
package dev.latchkey.client;
