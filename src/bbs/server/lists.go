package server

import (
	"bufio"
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
func streamList(w http.ResponseWriter, each func(fn func(pb []byte) error) error) {
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
		b, _ := proto.Marshal(errOf(err))
		_, _ = bw.Write(appendField(nil, 1, b))
	}
	_ = bw.Flush()
}

func (s *Server) listActualLRPs(w http.ResponseWriter, r *http.Request) {
	var req models.ActualLRPsRequest
	if e := s.decode(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	st := s.svc.Store()
	streamList(w, func(fn func([]byte) error) error { return st.EachActualLRP(r.Context(), actualFilter(&req), fn) })
}

func (s *Server) listDesiredLRPs(w http.ResponseWriter, r *http.Request) {
	var req models.DesiredLRPsRequest
	if e := s.decode(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	st := s.svc.Store()
	f := store.DesiredFilter{Domain: req.Domain, ProcessGuids: req.ProcessGuids}
	streamList(w, func(fn func([]byte) error) error { return st.EachDesiredLRP(r.Context(), f, fn) })
}

func (s *Server) listSchedulingInfos(w http.ResponseWriter, r *http.Request) {
	var req models.DesiredLRPsRequest
	if e := s.decode(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	st := s.svc.Store()
	f := store.DesiredFilter{Domain: req.Domain, ProcessGuids: req.ProcessGuids}
	streamList(w, func(fn func([]byte) error) error { return st.EachSchedulingInfo(r.Context(), f, fn) })
}

// listRoutingInfos derives each routing info from the stored desired LRP.
func (s *Server) listRoutingInfos(w http.ResponseWriter, r *http.Request) {
	var req models.DesiredLRPsRequest
	if e := s.decode(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	st := s.svc.Store()
	f := store.DesiredFilter{Domain: req.Domain, ProcessGuids: req.ProcessGuids}
	streamList(w, func(fn func([]byte) error) error {
		return st.EachDesiredLRP(r.Context(), f, func(pb []byte) error {
			var d models.DesiredLRP
			if err := proto.Unmarshal(pb, &d); err != nil {
				return err
			}
			ri := d.DesiredLRPRoutingInfo()
			out, err := proto.Marshal(&ri)
			if err != nil {
				return err
			}
			return fn(out)
		})
	})
}

func (s *Server) listTasks(w http.ResponseWriter, r *http.Request) {
	var req models.TasksRequest
	if e := s.decode(w, r, &req); e != nil {
		writeError(w, e)
		return
	}
	st := s.svc.Store()
	f := store.TaskFilter{Domain: req.Domain, CellID: req.CellId}
	streamList(w, func(fn func([]byte) error) error { return st.EachTask(r.Context(), f, fn) })
}
