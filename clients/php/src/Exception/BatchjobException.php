<?php

declare(strict_types=1);

namespace Batchjob\Client\Exception;

/**
 * Base class of the client's exceptions: `$errorCode` is the stable
 * `BJ_ERR_*` code of core's catalogue (packages/core/src/errors.ts); the
 * message says what was wrong.
 */
abstract class BatchjobException extends \RuntimeException
{
    public function __construct(public readonly string $errorCode, string $message, ?\Throwable $previous = null)
    {
        parent::__construct($message, 0, $previous);
    }

    /**
     * The typed exception of a script's error reply (`BJLUA:<n>:<detail>`,
     * docs/protocol.md); any other failure is a ScriptException.
     */
    public static function fromLua(string $message, string $script, ?\Throwable $previous = null): self
    {
        if (preg_match('/BJLUA:(\d+):(.*)$/sD', $message, $m) === 1) {
            $detail = "{$script}: {$m[2]}";
            if ($m[1] === '1') {
                return new InvalidArgumentException($detail, $previous);
            }
            if ($m[1] === '2') {
                return new ProtocolVersionException($detail, $previous);
            }
        }
        return new ScriptException("{$script} failed: {$message}", $previous);
    }
}
