package sshd

import (
	"encoding/binary"
	"os"

	"golang.org/x/sys/unix"
)

// RFC 4254 8: the terminal modes a pty-req carries, opcode then a uint32.
const (
	ttyOpEnd = 0
	// opcodes 160 and above take arguments of other sizes: parsing stops
	ttyOpLastUint32 = 159
)

// termChars are the control characters (opcode → c_cc index).
var termChars = map[byte]int{
	1: unix.VINTR, 2: unix.VQUIT, 3: unix.VERASE, 4: unix.VKILL, 5: unix.VEOF, 6: unix.VEOL, 7: unix.VEOL2,
	8: unix.VSTART, 9: unix.VSTOP, 10: unix.VSUSP, 12: unix.VREPRINT, 13: unix.VWERASE, 14: unix.VLNEXT, 18: unix.VDISCARD,
}

// termFlag is a flag of one of termios's flag words.
type termFlag struct {
	word int // 0 iflag, 1 lflag, 2 oflag, 3 cflag
	bit  uint32
}

var termFlags = map[byte]termFlag{
	30: {0, unix.IGNPAR}, 31: {0, unix.PARMRK}, 32: {0, unix.INPCK}, 33: {0, unix.ISTRIP}, 34: {0, unix.INLCR},
	35: {0, unix.IGNCR}, 36: {0, unix.ICRNL}, 37: {0, unix.IUCLC}, 38: {0, unix.IXON}, 39: {0, unix.IXANY},
	40: {0, unix.IXOFF}, 41: {0, unix.IMAXBEL}, 42: {0, unix.IUTF8},
	50: {1, unix.ISIG}, 51: {1, unix.ICANON}, 52: {1, unix.XCASE}, 53: {1, unix.ECHO}, 54: {1, unix.ECHOE},
	55: {1, unix.ECHOK}, 56: {1, unix.ECHONL}, 57: {1, unix.NOFLSH}, 58: {1, unix.TOSTOP}, 59: {1, unix.IEXTEN},
	60: {1, unix.ECHOCTL}, 61: {1, unix.ECHOKE}, 62: {1, unix.PENDIN},
	70: {2, unix.OPOST}, 71: {2, unix.OLCUC}, 72: {2, unix.ONLCR}, 73: {2, unix.OCRNL}, 74: {2, unix.ONOCR}, 75: {2, unix.ONLRET},
	90: {3, unix.CS7}, 91: {3, unix.CS8}, 92: {3, unix.PARENB}, 93: {3, unix.PARODD},
}

// applyModes sets the pty's terminal attributes from a pty-req's encoded
// modes; unknown opcodes are skipped, and a malformed list ends parsing.
func applyModes(pty *os.File, modes string) error {
	t, err := unix.IoctlGetTermios(int(pty.Fd()), unix.TCGETS)
	if err != nil {
		return err
	}
	b := []byte(modes)
	for len(b) >= 5 && b[0] != ttyOpEnd && b[0] <= ttyOpLastUint32 {
		op, v := b[0], binary.BigEndian.Uint32(b[1:5])
		b = b[5:]
		if i, ok := termChars[op]; ok {
			t.Cc[i] = uint8(v)
			continue
		}
		f, ok := termFlags[op]
		if !ok {
			continue
		}
		word := [...]*uint32{&t.Iflag, &t.Lflag, &t.Oflag, &t.Cflag}[f.word]
		if v != 0 {
			*word |= f.bit
		} else {
			*word &^= f.bit
		}
	}
	return unix.IoctlSetTermios(int(pty.Fd()), unix.TCSETS, t)
}
