package server

import (
	"bufio"
	"context"
	"net/http"

	"code.cloudfoundry.org/bbs/models"
	"github.com/gogo/protobuf/proto"

	"github.com/diego-go/diego/src/bbs/store"
)

// listField is the field number of the repeated payload in every list response.
const listField = 2

// streamList writes a list response without materialising it: each stored
// payload (already the protobuf of one list element) becomes field 2. An error
// part-way through is appended as field 1, which the client surfaces.
func (s *Server) streamList(ctx context.Context, w http.ResponseWriter, each func(fn func(pb []byte) error) error) {
	w.Header().Set("Content-Type", ProtoContentType)
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	var hdr [2 * 10]byte
	err := each(func(pb []byte) error {
		h := appendVarint(hdr[:0], listField<<3|2)
		h = appendVarint(h, uint64(len(pb)))
		if _, err := bw.Write(h); err != nil {
			return err
		}
		_, err := bw.Write(pb)
		return err
	})
	if err != nil {
		b, _ := proto.Marshal(s.errOf(ctx, err))
		_, _ = bw.Write(appendField(nil, 1, b))
	}
	_ = bw.Flush()
}

// list adapts a streaming list: decode and validate the filter request, then
// stream whatever each yields.
func list[R any, PR interface {
	*R
	proto.Message
}](s *Server, each func(ctx context.Context, st store.Store, req PR, fn func([]byte) error) error) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		req := PR(new(R))
		if e := s.decode(w, r, req); e != nil {
			writeError(w, e)
			return
		}
		st := s.svc.Store()
		s.streamList(r.Context(), w, func(fn func([]byte) error) error { return each(r.Context(), st, req, fn) })
	}
}

func desiredFilter(req *models.DesiredLRPsRequest) store.DesiredFilter {
	return store.DesiredFilter{Domain: req.Domain, ProcessGuids: req.ProcessGuids}
}

// servedFilter selects desired LRPs as the reference serves them.
func servedFilter(req *models.DesiredLRPsRequest) store.DesiredFilter {
	f := desiredFilter(req)
	f.Served = true
	return f
}

var (
	listActualLRPs = func(ctx context.Context, st store.Store, req *models.ActualLRPsRequest, fn func([]byte) error) error {
		return st.EachActualLRP(ctx, actualFilter(req), fn)
	}
	listDesiredLRPs = func(ctx context.Context, st store.Store, req *models.DesiredLRPsRequest, fn func([]byte) error) error {
		return st.EachDesiredLRP(ctx, servedFilter(req), fn)
	}
	listSchedulingInfos = func(ctx context.Context, st store.Store, req *models.DesiredLRPsRequest, fn func([]byte) error) error {
		return st.EachSchedulingInfo(ctx, desiredFilter(req), fn)
	}
	listTasks = func(ctx context.Context, st store.Store, req *models.TasksRequest, fn func([]byte) error) error {
		return st.EachTask(ctx, store.TaskFilter{Domain: req.Domain, CellID: req.CellId}, fn)
	}
)

// listRoutingInfos derives each routing info from the stored desired LRP.
func listRoutingInfos(ctx context.Context, st store.Store, req *models.DesiredLRPsRequest, fn func([]byte) error) error {
	return st.EachDesiredLRP(ctx, desiredFilter(req), mapped(fn, func(d *models.DesiredLRP) proto.Message {
		ri := d.DesiredLRPRoutingInfo()
		return &ri
	}))
}
