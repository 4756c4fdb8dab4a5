<?php

declare(strict_types=1);

// For use without Composer: require this file to load Batchjob\Client\* from this folder.
spl_autoload_register(static function (string $class): void {
    $base = 'Batchjob\\Client\\';
    if (str_starts_with($class, $base)) {
        $file = __DIR__ . '/' . str_replace('\\', '/', substr($class, strlen($base))) . '.php';
        if (is_file($file)) {
            require $file;
        }
    }
});
