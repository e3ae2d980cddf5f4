// Package auctioneer decides where LRP instances and tasks run: it batches start requests received over HTTP and, while holding the auctioneer lock, places each batch on cells in auction rounds.
package auctioneer
