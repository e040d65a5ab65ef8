#pragma once

#include <QByteArrayView>
#include <QtGlobal>

namespace ws {

// Incremental, fail-fast UTF-8 validation (RFC 3629 as required by RFC 6455 §8.1).
// Feed a text message in any number of pieces; validation fails at the first byte
// that cannot start or continue a valid sequence (overlong forms, UTF-16
// surrogates, code points above U+10FFFF, stray continuation bytes, bytes C0, C1,
// F5-FF), not at the end of the message. Runs of ASCII are checked a word at a
// time.
class Utf8Validator {
public:
    enum class Status {
        Valid,      // everything so far is valid and ends on a character boundary
        Incomplete, // valid so far, but the last character is not finished yet
        Invalid,    // failed; errorOffset() says where
    };

    // Validates the next piece. Once Invalid, stays Invalid until reset().
    Status feed(QByteArrayView data);
    // Status after the last feed().
    Status status() const { return m_status; }
    // On Invalid: the offset, counted from the first byte fed since reset(), of
    // the first byte that made the input invalid.
    qint64 errorOffset() const { return m_errorOffset; }
    // Valid at the end of a message means complete; Incomplete at the end is an error.
    bool isCompleteAndValid() const { return m_status == Status::Valid; }
    void reset();

    // One-shot check of a whole buffer.
    static bool isValid(QByteArrayView data);

private:
    quint32 m_state = 0;
    qint64 m_consumed = 0;
    qint64 m_errorOffset = -1;
    Status m_status = Status::Valid;
};

} // namespace ws
