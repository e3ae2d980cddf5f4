package auctioneer

import (
	"context"

	"code.cloudfoundry.org/bbs"
	"code.cloudfoundry.org/bbs/models"
)

// BBS is told about work that could not be placed.
type BBS interface {
	// FailActualLRP records a placement error on an unclaimed instance.
	FailActualLRP(ctx context.Context, key *models.ActualLRPKey, reason string) error
	// RejectTask returns a pending task to the BBS, which fails it after
	// repeated rejections.
	RejectTask(ctx context.Context, taskGuid, reason string) error
}

// NewBBS adapts the reference BBS client to BBS. Its calls are bounded by
// the client's own request timeout, not by ctx.
func NewBBS(c bbs.InternalClient) BBS { return bbsClient{c} }

type bbsClient struct{ c bbs.InternalClient }

func (b bbsClient) FailActualLRP(_ context.Context, key *models.ActualLRPKey, reason string) error {
	return b.c.FailActualLRP(discardLager, "", key, reason)
}

func (b bbsClient) RejectTask(_ context.Context, taskGuid, reason string) error {
	return b.c.RejectTask(discardLager, "", taskGuid, reason)
}
